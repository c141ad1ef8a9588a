/**
 * What each AWS call the pipeline makes needs in IAM, written from AWS's documentation: one row per
 * SDK command (or service integration), the actions it needs, the resource they must be granted on
 * (a pattern the statement's resource must match, as the stack names it), and the page that says so.
 * test/lib/pipeline-stack-permissions.test.ts matches every call found in the code against the
 * synthesized roles; a call without a row fails that test, so a new call comes with its page.
 */

export interface RequiredGrant {
  /** IAM actions, e.g. `s3:GetObject`. */
  readonly actions: readonly string[];
  /** What the granting statement's resource must match (its JSON, references included). */
  readonly resource: RegExp;
}

export interface PermissionRow {
  readonly grants: readonly RequiredGrant[];
  /** The documentation page the requirement comes from. */
  readonly page: string;
}

const SERVICE_AUTHORIZATION = {
  s3: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
  sagemaker: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html",
  sfn: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html",
} as const;

/** The artifact bucket's run objects (`runs/*`), the bucket itself, its key. */
const RUN_OBJECTS = /\/runs\/\*"/;
const BUCKET = /ArtifactsBucket[0-9A-F]{8}","Arn"/;
const BUCKET_KEY = /ArtifactsKey[0-9A-F]{8}","Arn"/;
const ENDPOINT = /:endpoint\/pms-recommender"/;
const ENDPOINT_CONFIGS = /:endpoint-config\/pms-recommender-\*"/;
const MODELS = /:model\/pms-recommender-\*"/;
const PACKAGE_GROUP = /:model-package-group\/pms-recommender"/;
const PACKAGES = /:model-package\/pms-recommender\/\*"/;
const ANY = /^"\*"$/;

const sse = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html";
/** Create* with Tags: the reference lists sagemaker:AddTags as the action's dependent action. */
const sagemakerTagging = `${SERVICE_AUTHORIZATION.sagemaker} (dependent actions of Create*)`;

/** SDK command name (as `new <Name>Command(...)`, or a Powertools call) → what it needs. */
export const SDK_COMMAND_PERMISSIONS: Readonly<Record<string, PermissionRow>> = {
  // S3: the artifact bucket is SSE-KMS with its own key; reading needs kms:Decrypt, writing kms:GenerateDataKey.
  GetObject: {
    grants: [
      { actions: ["s3:GetObject"], resource: RUN_OBJECTS },
      { actions: ["kms:Decrypt"], resource: BUCKET_KEY },
    ],
    page: `${SERVICE_AUTHORIZATION.s3}; ${sse}`,
  },
  HeadObject: {
    // "To use HEAD, you must have the s3:GetObject permission" (HeadObject, Amazon S3 API Reference).
    grants: [{ actions: ["s3:GetObject"], resource: RUN_OBJECTS }],
    page: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html",
  },
  PutObject: {
    grants: [
      { actions: ["s3:PutObject"], resource: RUN_OBJECTS },
      { actions: ["kms:GenerateDataKey"], resource: BUCKET_KEY },
    ],
    page: `${SERVICE_AUTHORIZATION.s3}; ${sse}`,
  },
  DeleteObject: {
    grants: [{ actions: ["s3:DeleteObject"], resource: RUN_OBJECTS }],
    page: SERVICE_AUTHORIZATION.s3,
  },
  ListObjectsV2: {
    // "You must have READ access to the bucket": s3:ListBucket on the bucket (ListObjectsV2, API Reference).
    grants: [{ actions: ["s3:ListBucket"], resource: BUCKET }],
    page: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html",
  },

  // SageMaker: each API action is authorized as sagemaker:<Action> on the resource it names.
  DescribeEndpoint: {
    grants: [{ actions: ["sagemaker:DescribeEndpoint"], resource: ENDPOINT }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DescribeEndpointConfig: {
    grants: [{ actions: ["sagemaker:DescribeEndpointConfig"], resource: ENDPOINT_CONFIGS }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DescribeModel: {
    grants: [{ actions: ["sagemaker:DescribeModel"], resource: MODELS }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DescribeModelPackage: {
    grants: [{ actions: ["sagemaker:DescribeModelPackage"], resource: PACKAGES }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DescribeModelPackageGroup: {
    grants: [{ actions: ["sagemaker:DescribeModelPackageGroup"], resource: PACKAGE_GROUP }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  ListModelPackages: {
    // List actions have no resource-level permissions: Resource "*".
    grants: [{ actions: ["sagemaker:ListModelPackages"], resource: ANY }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  CreateModelPackageGroup: {
    grants: [
      { actions: ["sagemaker:CreateModelPackageGroup"], resource: PACKAGE_GROUP },
      { actions: ["sagemaker:AddTags"], resource: PACKAGE_GROUP },
    ],
    page: sagemakerTagging,
  },
  CreateModelPackage: {
    grants: [
      { actions: ["sagemaker:CreateModelPackage"], resource: PACKAGE_GROUP },
      { actions: ["sagemaker:AddTags"], resource: PACKAGES },
    ],
    page: sagemakerTagging,
  },
  CreateModel: {
    // "To be able to pass this role to SageMaker, the caller of this API must have the iam:PassRole permission" (CreateModel).
    grants: [
      { actions: ["sagemaker:CreateModel"], resource: MODELS },
      { actions: ["sagemaker:AddTags"], resource: MODELS },
      { actions: ["iam:PassRole"], resource: /ServingExecutionRole[0-9A-F]{8}","Arn"/ },
    ],
    page: "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html",
  },
  CreateEndpointConfig: {
    grants: [
      { actions: ["sagemaker:CreateEndpointConfig"], resource: ENDPOINT_CONFIGS },
      { actions: ["sagemaker:AddTags"], resource: ENDPOINT_CONFIGS },
    ],
    page: sagemakerTagging,
  },
  CreateEndpoint: {
    grants: [
      { actions: ["sagemaker:CreateEndpoint"], resource: ENDPOINT },
      { actions: ["sagemaker:AddTags"], resource: ENDPOINT },
    ],
    page: sagemakerTagging,
  },
  UpdateEndpoint: {
    // The action is authorized on the endpoint and on the endpoint config it switches to.
    grants: [
      { actions: ["sagemaker:UpdateEndpoint"], resource: ENDPOINT },
      { actions: ["sagemaker:UpdateEndpoint"], resource: ENDPOINT_CONFIGS },
    ],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DeleteEndpoint: {
    grants: [{ actions: ["sagemaker:DeleteEndpoint"], resource: ENDPOINT }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DeleteEndpointConfig: {
    grants: [{ actions: ["sagemaker:DeleteEndpointConfig"], resource: ENDPOINT_CONFIGS }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  DeleteModel: {
    grants: [{ actions: ["sagemaker:DeleteModel"], resource: MODELS }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  ListTags: {
    // The code reads the tags of endpoint configs and models it may delete.
    grants: [{ actions: ["sagemaker:ListTags"], resource: /:(endpoint-config|model)\/pms-recommender-\*"/ }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  ListEndpointConfigs: {
    grants: [{ actions: ["sagemaker:ListEndpointConfigs"], resource: ANY }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },
  ListModels: { grants: [{ actions: ["sagemaker:ListModels"], resource: ANY }], page: SERVICE_AUTHORIZATION.sagemaker },
  InvokeEndpoint: {
    grants: [{ actions: ["sagemaker:InvokeEndpoint"], resource: ENDPOINT }],
    page: SERVICE_AUTHORIZATION.sagemaker,
  },

  // Step Functions and SNS (the notify function).
  DescribeExecution: {
    grants: [{ actions: ["states:DescribeExecution"], resource: /:execution:/ }],
    page: SERVICE_AUTHORIZATION.sfn,
  },
  GetExecutionHistory: {
    grants: [{ actions: ["states:GetExecutionHistory"], resource: /:execution:/ }],
    page: SERVICE_AUTHORIZATION.sfn,
  },
  Publish: {
    // Publishing to a topic encrypted with a customer managed key needs the key's data-key actions.
    grants: [
      { actions: ["sns:Publish"], resource: /Topic/ },
      { actions: ["kms:GenerateDataKey", "kms:Decrypt"], resource: /TopicKey|Key[0-9A-F]{8}","Arn"/ },
    ],
    page: "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
  },

  // Powertools Parameters' getSecret sends Secrets Manager GetSecretValue.
  getSecret: {
    grants: [
      { actions: ["secretsmanager:GetSecretValue"], resource: /secret:pms\/(dbt-cloud-token|snowflake-private-key)/ },
    ],
    page: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html",
  },
};

/** The state machine's service integrations, by the Task state's resource. */
export const INTEGRATION_PERMISSIONS = {
  lambdaFunction: {
    grants: [{ actions: ["lambda:InvokeFunction"], resource: /.*/ }],
    page: "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html",
  },
  batchSubmitJobSync: {
    grants: [
      { actions: ["batch:SubmitJob"], resource: /job-queue|job-definition/ },
      { actions: ["batch:DescribeJobs"], resource: ANY },
      { actions: ["batch:TerminateJob"], resource: /:job\/\*"/ },
      {
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resource: /rule\/StepFunctionsGetEventsForBatchJobsRule/,
      },
    ],
    page: "https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html",
  },
} as const satisfies Record<string, PermissionRow>;

/** What SageMaker itself does with the endpoint's execution role during a guarded update. */
export const SAGEMAKER_EXECUTION_ROLE_PERMISSIONS: PermissionRow = {
  grants: [{ actions: ["cloudwatch:DescribeAlarms"], resource: /Invocation5xxErrors|ModelLatency/ }],
  page: "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html",
};
