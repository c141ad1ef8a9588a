import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Annotations, Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { RunDefaultsSchema } from "../../core/pipeline/run-context.ts";
import { FUNCTION_ENTRIES, missingFunctionEntries } from "../../lib/constructs/pipeline-lambdas.ts";
import { TRAINING_IMAGE_CONTEXT } from "../../lib/pipeline-stack.ts";
import { logicalId, type SynthesizedPipeline, synthesizePipeline } from "./synth-app.ts";

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

let synthesized: SynthesizedPipeline;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  // One synthesis for the whole file: every assertion below reads the same template.
  synthesized = synthesizePipeline();
  template = synthesized.template;
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const actions = (statement: Statement) => [statement.Action].flat();
const json = (value: unknown) => JSON.stringify(value);

/** The statements of every inline policy attached to the role with this logical id. */
function statementsOfRole(roleId: string): Statement[] {
  return ofType("AWS::IAM::Policy")
    .filter(([, policy]) => json(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function functionByName(name: string): [string, Resource] {
  const found = ofType("AWS::Lambda::Function").find(([, fn]) => fn.Properties.FunctionName === name);
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

function roleIdOfFunction(name: string): string {
  const [, fn] = functionByName(name);
  return (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
}

function environmentOf(name: string): Record<string, unknown> {
  return (functionByName(name)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe("the handlers and the training image it deploys", () => {
  it("finds every handler entry in lambdas/", () => {
    expect(missingFunctionEntries()).toEqual([]);
  });

  it("finds the training image's Dockerfile with a train and a serve target", () => {
    const dockerfile = join(TRAINING_IMAGE_CONTEXT.directory, TRAINING_IMAGE_CONTEXT.file);
    expect(existsSync(dockerfile), `${TRAINING_IMAGE_CONTEXT.file} is missing`).toBe(true);
    const text = readFileSync(dockerfile, "utf8");
    expect(text).toMatch(/^FROM\s+\S+\s+AS\s+train\s*$/im);
    expect(text).toMatch(/^FROM\s+\S+\s+AS\s+serve\s*$/im);
  });
});

describe("artifact bucket", () => {
  it("encrypts with its own rotated KMS key, blocks public access, versions objects and logs access", () => {
    const { bucket, key, accessLogs } = synthesized.stack.artifacts;
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    template.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: "aws:kms",
                KMSMasterKeyID: { "Fn::GetAtt": [logicalId(key), "Arn"] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: "Enabled" },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(accessLogs) }, LogFilePrefix: "artifacts/" },
      }),
    });
    expect(resources[logicalId(key)]?.DeletionPolicy).toBe("Retain");
    expect(resources[logicalId(bucket)]?.DeletionPolicy).toBe("Retain");
  });

  it("ages old runs out: Infrequent Access after 30 days, deleted after a year, old versions after 30 days", () => {
    const bucket = resources[logicalId(synthesized.stack.artifacts.bucket)];
    expect(bucket?.Properties.LifecycleConfiguration).toEqual({
      Rules: expect.arrayContaining([
        {
          Id: "age-out-old-runs",
          Prefix: "runs/",
          Status: "Enabled",
          Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
          ExpirationInDays: 365,
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        },
      ]),
    });
  });

  it("refuses every request not made over TLS, on both buckets", () => {
    const policies = ofType("AWS::S3::BucketPolicy");
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
  });
});

describe("GPU training on AWS Batch", () => {
  it("runs g4dn.xlarge on the NVIDIA AL2023 AMI: Spot first, then on-demand, in the queue's order", () => {
    const environments = ofType("AWS::Batch::ComputeEnvironment");
    const byType = Object.fromEntries(
      environments.map(([id, ce]) => [(ce.Properties.ComputeResources as { Type: string }).Type, id]),
    );
    expect(Object.keys(byType).sort()).toEqual(["EC2", "SPOT"]);
    for (const [, ce] of environments) {
      expect(ce.Properties.ComputeResources).toMatchObject({
        InstanceTypes: ["g4dn.xlarge"],
        MinvCpus: 0,
        MaxvCpus: 16,
        Ec2Configuration: [{ ImageType: "ECS_AL2023_NVIDIA" }],
      });
    }
    expect(resources[byType.SPOT as string]?.Properties.ComputeResources).toMatchObject({
      AllocationStrategy: "SPOT_PRICE_CAPACITY_OPTIMIZED",
    });
    template.hasResourceProperties("AWS::Batch::JobQueue", {
      JobQueueName: "pms-training",
      ComputeEnvironmentOrder: [
        { ComputeEnvironment: { "Fn::GetAtt": [byType.SPOT, "ComputeEnvironmentArn"] }, Order: 1 },
        { ComputeEnvironment: { "Fn::GetAtt": [byType.EC2, "ComputeEnvironmentArn"] }, Order: 2 },
      ],
    });
  });

  it("asks for one GPU, retries Spot reclaims (Host EC2*) but exits on anything else, and times out", () => {
    template.hasResourceProperties("AWS::Batch::JobDefinition", {
      JobDefinitionName: "pms-training",
      Type: "container",
      PlatformCapabilities: ["EC2"],
      ContainerProperties: Match.objectLike({
        ResourceRequirements: Match.arrayWith([
          { Type: "MEMORY", Value: "15000" },
          { Type: "VCPU", Value: "4" },
          { Type: "GPU", Value: "1" },
        ]),
      }),
      RetryStrategy: {
        Attempts: 3,
        EvaluateOnExit: [
          { Action: "RETRY", OnStatusReason: "Host EC2*" },
          { Action: "EXIT", OnReason: "*" },
        ],
      },
      Timeout: { AttemptDurationSeconds: 7200 },
    });
    template.hasResourceProperties("AWS::Batch::JobDefinition", {
      ContainerProperties: Match.objectLike({
        LogConfiguration: Match.objectLike({ Options: Match.objectLike({ "awslogs-stream-prefix": "train" }) }),
      }),
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/aws/batch/pms-training",
      RetentionInDays: 30,
    });
  });

  it("gives the state machine's Train task room for every attempt plus queueing", () => {
    expect(synthesized.stack.training.stateMachineTimeout.toMinutes()).toBe(120 * 3 + 60);
  });

  it("runs in isolated subnets without NAT, reaching AWS through endpoints only the instances may use", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.resourceCountIs("AWS::EC2::InternetGateway", 0);
    const services = ofType("AWS::EC2::VPCEndpoint").map(([, endpoint]) => json(endpoint.Properties.ServiceName));
    expect(services).toHaveLength(8);
    for (const service of ["s3", "ecr.api", "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "logs", "sts"]) {
      expect(
        services.some((name) => name.includes(`.${service}"`)),
        service,
      ).toBe(true);
    }
    // Interface endpoints sit in one zone (they are billed per zone-hour); the gateway is free.
    for (const [, endpoint] of ofType("AWS::EC2::VPCEndpoint")) {
      if (endpoint.Properties.VpcEndpointType === "Interface") expect(endpoint.Properties.SubnetIds).toHaveLength(1);
    }
    const instanceGroup = ofType("AWS::EC2::SecurityGroup").find(([id]) => id.includes("InstanceSecurityGroup"));
    const ingress = ofType("AWS::EC2::SecurityGroupIngress");
    expect(ingress).toHaveLength(7);
    for (const [, rule] of ingress) {
      expect(rule.Properties).toMatchObject({
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { "Fn::GetAtt": [instanceGroup?.[0], "GroupId"] },
      });
      expect(rule.Properties.CidrIp).toBeUndefined();
    }
  });

  it("lets the state machine watch and stop the training job it submits (Run a Job .sync)", () => {
    // Step Functions, "IAM policies for AWS Batch": SubmitJob, DescribeJobs and TerminateJob for .sync.
    const statements = statementsOfRole(logicalId(synthesized.stack.pipeline.stateMachine.role));
    const granted = (action: string) => statements.filter((statement) => actions(statement).includes(action));
    expect(granted("batch:SubmitJob")).not.toEqual([]);
    expect(granted("batch:DescribeJobs").map((statement) => statement.Resource)).toEqual(["*"]);
    const terminate = granted("batch:TerminateJob").map((statement) => json(statement.Resource));
    expect(terminate).toHaveLength(1);
    expect(terminate[0]).toMatch(/:job\/\*"/);
  });

  it("lets the training job read and write run artifacts only", () => {
    const statements = statementsOfRole(logicalId(synthesized.stack.training.jobRole));
    const s3Resources = json(statements.filter((statement) => actions(statement).some((a) => a.startsWith("s3:"))));
    expect(s3Resources).toContain("/runs/*");
    expect(statements.flatMap(actions).filter((action) => !/^(s3|kms):/.test(action))).toEqual([]);
  });
});

describe("pipeline functions", () => {
  const pipelineFunctions = Object.keys(FUNCTION_ENTRIES);

  it("creates one Node 22 function per handler, traced, with Powertools settings and its own log group", () => {
    const names = ofType("AWS::Lambda::Function")
      .map(([, fn]) => fn.Properties.FunctionName)
      .filter((name): name is string => typeof name === "string");
    expect(names.sort()).toEqual(
      [
        "prepare-run",
        "start-dbt-run",
        "check-dbt-run",
        "cancel-dbt-run",
        "start-extract",
        "check-extract",
        "evaluate",
        "check-served-model",
        "register-model",
        "start-deployment",
        "check-deployment",
        "smoke-test",
        "roll-back-deployment",
        "clean-up-deployments",
        "notify",
      ]
        .map((name) => `pms-${name}`)
        .sort(),
    );
    expect(names).toHaveLength(pipelineFunctions.length);
    for (const name of names) {
      const [, fn] = functionByName(name);
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: expect.anything() },
      });
      expect(environmentOf(name)).toMatchObject({ POWERTOOLS_SERVICE_NAME: name, POWERTOOLS_LOG_LEVEL: "INFO" });
      template.hasResourceProperties("AWS::Logs::LogGroup", {
        LogGroupName: `/aws/lambda/${name}`,
        RetentionInDays: 30,
      });
    }
  });

  it("gives each function exactly the environment its handler reads", () => {
    const dbt = [
      "DBT_CLOUD_API_BASE_URL",
      "DBT_CLOUD_ACCOUNT_ID",
      "DBT_CLOUD_JOB_ID",
      "DBT_CLOUD_TOKEN_SECRET_ID",
      "DBT_RUN_TIMEOUT_SECONDS",
    ];
    const snowflake = [
      "SNOWFLAKE_ACCOUNT",
      "SNOWFLAKE_USER",
      "SNOWFLAKE_ROLE",
      "SNOWFLAKE_WAREHOUSE",
      "SNOWFLAKE_DATABASE",
      "SNOWFLAKE_SCHEMA",
      "SNOWFLAKE_PRIVATE_KEY_SECRET_ID",
      "SNOWFLAKE_UNLOAD_STAGE",
      "SNOWFLAKE_EXTRACT_TIMEOUT_SECONDS",
    ];
    const expected: Record<string, string[]> = {
      "prepare-run": ["PMS_RUN_DEFAULTS"],
      "start-dbt-run": dbt,
      "check-dbt-run": dbt,
      "cancel-dbt-run": dbt,
      "start-extract": snowflake,
      "check-extract": snowflake,
      evaluate: ["PMS_MODEL_PACKAGE_GROUP", "PMS_ENDPOINT_NAME"],
      "check-served-model": [],
      "register-model": ["PMS_MODEL_PACKAGE_GROUP", "PMS_SERVING_IMAGE_URI", "PMS_RESOURCE_TAGS"],
      "start-deployment": [
        "PMS_ENDPOINT_NAME",
        "PMS_SERVING_IMAGE_URI",
        "PMS_SAGEMAKER_ROLE_ARN",
        "PMS_ENDPOINT_SETTINGS",
        "PMS_ROLLBACK_ALARM_NAMES",
        "PMS_DEPLOY_TIMEOUT_SECONDS",
        "PMS_RESOURCE_TAGS",
      ],
      "check-deployment": ["PMS_ENDPOINT_NAME", "PMS_DEPLOY_TIMEOUT_SECONDS"],
      "smoke-test": ["PMS_ENDPOINT_NAME", "PMS_SMOKE_TEST_MAX_MS"],
      "roll-back-deployment": ["PMS_ENDPOINT_NAME"],
      "clean-up-deployments": ["PMS_ENDPOINT_NAME", "PMS_KEEP_DEPLOYMENTS"],
      notify: ["PMS_TOPIC_ARN"],
    };
    for (const [name, variables] of Object.entries(expected)) {
      const own = Object.keys(environmentOf(`pms-${name}`)).filter((key) => !key.startsWith("POWERTOOLS_"));
      expect(own.sort(), name).toEqual([...variables].sort());
    }
    expect(environmentOf("pms-start-dbt-run")).toMatchObject({
      DBT_CLOUD_API_BASE_URL: "https://cloud.getdbt.com",
      DBT_CLOUD_ACCOUNT_ID: "12345",
      DBT_CLOUD_JOB_ID: "67890",
      DBT_CLOUD_TOKEN_SECRET_ID: "pms/dbt-cloud-token",
      DBT_RUN_TIMEOUT_SECONDS: "7200",
    });
    expect(environmentOf("pms-start-deployment")).toMatchObject({
      PMS_ENDPOINT_NAME: "pms-recommender",
      PMS_ROLLBACK_ALARM_NAMES: '["pms-recommender-invocation-5xx-errors","pms-recommender-model-latency"]',
      PMS_DEPLOY_TIMEOUT_SECONDS: "3600",
      PMS_RESOURCE_TAGS: '{"project":"post-modern-stack"}',
    });
    expect(JSON.parse(environmentOf("pms-start-deployment").PMS_ENDPOINT_SETTINGS as string)).toMatchObject({
      type: "instance",
      instanceType: "ml.m5.large",
      instanceCount: 1,
      trafficShifting: "all-at-once",
      bakingPeriodSeconds: 600,
    });
  });

  it("hands prepare-run run defaults that PrepareRun's own schema accepts, rooted at the artifact bucket", () => {
    const bucketId = logicalId(synthesized.stack.artifacts.bucket);
    const joined = environmentOf("pms-prepare-run").PMS_RUN_DEFAULTS as { "Fn::Join": [string, unknown[]] };
    const text = joined["Fn::Join"][1]
      .map((part) => (typeof part === "string" ? part : json(part) === json({ Ref: bucketId }) ? "my-bucket" : "?"))
      .join("");
    const defaults = RunDefaultsSchema.parse(JSON.parse(text));
    expect(defaults.artifactRoot).toBe("s3://my-bucket");
    expect(defaults.gate).toEqual(["hr@20 >= popularity + 0.02", "mrr@20 >= champion - 0.01"]);
  });

  it("lets only the dbt functions read the dbt Cloud token, and only the extract functions the Snowflake key", () => {
    const readers = (secretName: string) =>
      Object.keys(FUNCTION_ENTRIES)
        .map((key) => `pms-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)
        .filter((name) =>
          statementsOfRole(roleIdOfFunction(name)).some(
            (statement) =>
              actions(statement).includes("secretsmanager:GetSecretValue") &&
              json(statement.Resource).includes(`:secret:${secretName}-??????`),
          ),
        )
        .sort();
    expect(readers("pms/dbt-cloud-token")).toEqual(["pms-cancel-dbt-run", "pms-check-dbt-run", "pms-start-dbt-run"]);
    expect(readers("pms/snowflake-private-key")).toEqual(["pms-check-extract", "pms-start-extract"]);
    // The evaluate function in particular touches neither secret.
    expect(json(statementsOfRole(roleIdOfFunction("pms-evaluate")))).not.toContain("secretsmanager");
  });

  it("keeps every function's S3 access to the bucket's runs/ prefix", () => {
    for (const [id] of ofType("AWS::IAM::Role").filter(([id]) => id.startsWith("Functions"))) {
      for (const statement of statementsOfRole(id)) {
        const objectActions = actions(statement).filter((a) => /^s3:(Get|Put|Delete|Abort)/.test(a));
        if (objectActions.length === 0) continue;
        for (const resource of [statement.Resource].flat()) {
          const text = json(resource);
          // Bucket-level actions (GetBucket*, List*) name the bucket; object actions only runs/*.
          expect(text.endsWith('/runs/*"]]}') || !text.includes("/"), `${id}: ${text}`).toBe(true);
        }
      }
    }
  });

  it("scopes SageMaker actions to the project's names; only List* actions, which allow nothing else, use *", () => {
    const allowed = [
      ":endpoint/pms-recommender",
      ":endpoint-config/pms-recommender-*",
      ":model/pms-recommender-*",
      ":model-package-group/pms-recommender",
      ":model-package/pms-recommender/*",
    ];
    let sagemakerStatements = 0;
    for (const [, policy] of ofType("AWS::IAM::Policy")) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        const sagemakerActions = actions(statement).filter((action) => action.startsWith("sagemaker:"));
        if (sagemakerActions.length === 0) continue;
        sagemakerStatements += 1;
        for (const resource of [statement.Resource].flat()) {
          if (resource === "*") {
            expect(sagemakerActions.every((action) => action.startsWith("sagemaker:List"))).toBe(true);
          } else {
            const text = json(resource);
            expect(
              allowed.some((suffix) => text.includes(`${suffix}"`)),
              text,
            ).toBe(true);
          }
        }
      }
    }
    expect(sagemakerStatements).toBeGreaterThan(10);
  });

  it("lets only start-deployment pass the SageMaker execution role, and only to SageMaker", () => {
    const sagemakerRole = logicalId(synthesized.stack.serving.executionRole);
    const passers = ofType("AWS::IAM::Policy").filter(([, policy]) => json(policy).includes("iam:PassRole"));
    expect(passers.map(([, policy]) => json(policy.Properties.Roles))).toEqual([
      json([{ Ref: roleIdOfFunction("pms-start-deployment") }]),
    ]);
    expect(statementsOfRole(roleIdOfFunction("pms-start-deployment"))).toContainEqual({
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: { "Fn::GetAtt": [sagemakerRole, "Arn"] },
      Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
    });
  });

  it("gives the deployment functions only the SageMaker actions of their step", () => {
    const sagemakerActions = (name: string) =>
      [
        ...new Set(
          statementsOfRole(roleIdOfFunction(name))
            .flatMap(actions)
            .filter((action) => action.startsWith("sagemaker:")),
        ),
      ].sort();
    expect(sagemakerActions("pms-check-deployment")).toEqual([
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
    ]);
    expect(sagemakerActions("pms-smoke-test")).toEqual(["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"]);
    expect(sagemakerActions("pms-evaluate")).not.toContain("sagemaker:CreateModel");
    expect(sagemakerActions("pms-evaluate").every((action) => /:(Describe|List)/.test(action))).toBe(true);
    expect(sagemakerActions("pms-prepare-run")).toEqual([]);
    expect(sagemakerActions("pms-start-dbt-run")).toEqual([]);
  });
});

describe("SageMaker serving", () => {
  it("leaves the model package group to register-model, so a redeploy after `cdk destroy` finds no fixed name taken", () => {
    template.resourceCountIs("AWS::SageMaker::ModelPackageGroup", 0);
    const registerRole = roleIdOfFunction("pms-register-model");
    expect(statementsOfRole(registerRole).flatMap(actions)).toContain("sagemaker:CreateModelPackageGroup");
  });

  it("lets the endpoint's execution role read its rollback alarms (SageMaker Auto-Rollback Configuration)", () => {
    const statements = statementsOfRole(logicalId(synthesized.stack.serving.executionRole));
    const describe = statements.filter((statement) => actions(statement).includes("cloudwatch:DescribeAlarms"));
    const alarmIds = synthesized.stack.serving.rollbackAlarms.map((alarm) => logicalId(alarm));
    expect(describe).toHaveLength(1);
    expect([describe[0]?.Resource].flat()).toEqual(alarmIds.map((id) => ({ "Fn::GetAtt": [id, "Arn"] })));
  });

  it("watches the endpoint's 5xx errors and p99 model latency (µs) for blue/green rollback", () => {
    const dimensions = [
      { Name: "EndpointName", Value: "pms-recommender" },
      { Name: "VariantName", Value: "AllTraffic" },
    ];
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "pms-recommender-invocation-5xx-errors",
      Namespace: "AWS/SageMaker",
      MetricName: "Invocation5XXErrors",
      Dimensions: dimensions,
      Statistic: "Sum",
      Threshold: 1,
      TreatMissingData: "notBreaching",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "pms-recommender-model-latency",
      MetricName: "ModelLatency",
      Dimensions: dimensions,
      ExtendedStatistic: "p99",
      Threshold: 500_000,
    });
  });

  it("lets endpoints read model archives of the runs and nothing else of the bucket", () => {
    const statements = statementsOfRole(logicalId(synthesized.stack.serving.executionRole));
    const s3 = statements.filter((statement) => actions(statement).some((action) => action.startsWith("s3:")));
    expect(s3.flatMap(actions).some((action) => /^s3:(Put|Delete)/.test(action))).toBe(false);
    expect(json(s3)).toContain("/runs/*");
  });
});

describe("nightly schedule", () => {
  it("starts the state machine at the configured cron and time zone with the schedule input, retries, and a DLQ", () => {
    const stateMachineId = logicalId(synthesized.stack.pipeline.stateMachine);
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "UTC",
      State: "ENABLED",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: { Ref: stateMachineId },
        Input: '{"trigger":"schedule"}',
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [logicalId(synthesized.stack.schedule.deadLetterQueue), "Arn"] } },
        RoleArn: { "Fn::GetAtt": [logicalId(synthesized.stack.schedule.role), "Arn"] },
      },
    });
  });

  it("has a role that can start this state machine and write its DLQ, nothing more", () => {
    const statements = statementsOfRole(logicalId(synthesized.stack.schedule.role));
    expect(statements.map((statement) => [actions(statement), statement.Resource])).toEqual(
      expect.arrayContaining([
        [["states:StartExecution"], { Ref: logicalId(synthesized.stack.pipeline.stateMachine) }],
        [["sqs:SendMessage"], { "Fn::GetAtt": [logicalId(synthesized.stack.schedule.deadLetterQueue), "Arn"] }],
      ]),
    );
    expect(statements).toHaveLength(2);
  });

  it("keeps undelivered starts in an encrypted, TLS-only queue", () => {
    const queueId = logicalId(synthesized.stack.schedule.deadLetterQueue);
    expect(resources[queueId]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    const policy = ofType("AWS::SQS::QueuePolicy").find(([, p]) => json(p.Properties.Queues).includes(queueId));
    expect(json(policy?.[1].Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });
});

describe("notifications", () => {
  it("publishes to a KMS-encrypted, TLS-only topic", () => {
    const { topic, key } = synthesized.stack.notifications;
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [logicalId(key), "Arn"] },
    });
    const policy = ofType("AWS::SNS::TopicPolicy").find(([, p]) =>
      json(p.Properties.Topics).includes(logicalId(topic)),
    );
    expect(json(policy?.[1].Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it("sends the state machine's final statuses to the notify function", () => {
    const stateMachineId = logicalId(synthesized.stack.pipeline.stateMachine);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        detail: { status: ["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"], stateMachineArn: [{ Ref: stateMachineId }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [logicalId(synthesized.stack.notifications.notify), "Arn"] },
          RetryPolicy: { MaximumRetryAttempts: 4 },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });

  it("lets notify publish and read this state machine's executions only", () => {
    const statements = statementsOfRole(roleIdOfFunction("pms-notify"));
    const stateActions = statements.filter((statement) => actions(statement).some((a) => a.startsWith("states:")));
    expect(stateActions.flatMap(actions).sort()).toEqual(["states:DescribeExecution", "states:GetExecutionHistory"]);
    expect(json(stateActions)).toContain(":execution:");
    expect(statements.flatMap(actions)).toContain("sns:Publish");
  });

  it("alarms to the topic when an execution fails, times out or is aborted", () => {
    for (const metricName of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
      expect(alarmOn("AWS/States", metricName), metricName).toMatchObject({
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        AlarmActions: [{ Ref: logicalId(synthesized.stack.notifications.topic) }],
      });
    }
  });
});

/** The alarms cdk-monitoring-constructs makes watch one metric each, as `Metrics[0].MetricStat`. */
function alarmOn(namespace: string, metricName: string): Record<string, unknown> | undefined {
  return ofType("AWS::CloudWatch::Alarm")
    .map(([, alarm]) => alarm.Properties)
    .find((alarm) => {
      const stat = (
        alarm.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[] | undefined
      )?.[0]?.MetricStat;
      return stat?.Metric.Namespace === namespace && stat.Metric.MetricName === metricName;
    });
}

describe("monitoring (cdk-monitoring-constructs)", () => {
  const topic = () => ({ Ref: logicalId(synthesized.stack.notifications.topic) });

  it("alarms to the topic on training that nears the Batch job timeout, and on the endpoint's 5xx and p99 latency", () => {
    // Training: three quarters of the 120-minute attempt timeout, on the metric Evaluate emits (service = its name).
    const training = alarmOn("PostModernStack", "TrainingSeconds");
    expect(training).toMatchObject({
      Threshold: 90 * 60,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [topic()],
    });
    expect(json(training?.Metrics)).toContain(
      json({ Name: "service", Value: { Ref: logicalId(synthesized.stack.lambdas.functions.evaluate) } }),
    );
    expect(alarmOn("AWS/SageMaker", "Invocation5XXErrors")).toMatchObject({ Threshold: 1, AlarmActions: [topic()] });
    const latency = alarmOn("AWS/SageMaker", "ModelLatency");
    expect(latency).toMatchObject({ Threshold: 500_000, AlarmActions: [topic()] });
    expect(json(latency?.Metrics)).toContain('"Stat":"p99"');
    expect(json(latency?.Metrics)).toContain('{"Name":"EndpointName","Value":"pms-recommender"}');
  });

  it("draws one dashboard with the executions, the model's quality and version, the endpoint and every function", () => {
    const dashboards = ofType("AWS::CloudWatch::Dashboard");
    expect(dashboards).toHaveLength(1);
    const body = json(dashboards[0]?.[1].Properties.DashboardBody);
    for (const metric of ["HitRateAt20", "MrrAt20", "GatePassed", "TrainingSeconds", "DeployedModelVersion"]) {
      expect(body, metric).toContain(metric);
    }
    expect(body).toContain("ExecutionsFailed");
    expect(body).toContain("Invocation5XXErrors");
    const functions = { ...synthesized.stack.lambdas.functions, notify: synthesized.stack.notifications.notify };
    for (const [name, fn] of Object.entries(functions)) expect(body, name).toContain(logicalId(fn));
  });
});

describe("outputs", () => {
  it("exports what the deploy steps need: bucket, state machine, topic, endpoint", () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      "ArtifactBucketName",
      "EndpointName",
      "NotificationTopicArn",
      "StateMachineArn",
    ]);
  });
});

describe("cost tags", () => {
  it("tags the stack's resources with the configured cost tags", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      Tags: Match.arrayWith([{ Key: "project", Value: "post-modern-stack" }]),
    });
  });
});

describe("cdk-nag AwsSolutions", () => {
  it("leaves no finding unacknowledged", () => {
    expect(Object.fromEntries(synthesized.nagViolations)).toEqual({});
  });

  it("leaves none in a stack pinned to a region either (findings then name the region literally)", () => {
    const regional = synthesizePipeline({}, { region: "eu-west-1" });
    expect(Object.fromEntries(regional.nagViolations)).toEqual({});
    expect([...regional.nagAcknowledged.keys()].some((id) => id.includes(":sagemaker:eu-west-1:"))).toBe(true);
  }, 180_000);

  it("has no action on Resource * beyond those acknowledged by name (wildcardResource)", () => {
    expect(
      Annotations.fromStack(synthesized.stack).findError("*", Match.stringLikeRegexp("AwsSolutions-IAM5: ")),
    ).toEqual([]);
  });

  it("acknowledges wildcard findings one by one, never a whole rule", () => {
    const acknowledged = [...synthesized.nagAcknowledged.keys()];
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged.filter((id) => id.startsWith("AwsSolutions-IAM5"))) {
      expect(id).toMatch(/^AwsSolutions-IAM5\[(Action|Resource)::.+\]$/);
    }
  });
});

describe("template snapshot", () => {
  it("matches the reviewed template (asset hashes normalised; the state machine's own resources are snapshotted by test/lib/pipeline)", () => {
    const own = template.toJSON() as { Resources: Record<string, unknown> };
    // The PipelineStateMachine construct (id "Pipeline") belongs to lib/pipeline and its tests.
    const resourcesOfThisRoom = Object.fromEntries(
      Object.entries(own.Resources).filter(([logicalId]) => !logicalId.startsWith("Pipeline")),
    );
    const normalised = JSON.parse(
      JSON.stringify({ ...own, Resources: resourcesOfThisRoom }).replace(/[0-9a-f]{64}/g, "<asset-hash>"),
    );
    expect(Object.keys(resourcesOfThisRoom).length).toBeGreaterThan(100);
    expect(normalised).toMatchSnapshot();
  });
});
