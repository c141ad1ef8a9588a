import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { VARIANT_NAME } from "../../core/deploy/names.ts";
import type { DeployConfig } from "../config.ts";
import { acknowledgeNag, nagResourceFinding, wildcardResource } from "../nag.ts";
import type { ArtifactBucket } from "./artifact-bucket.ts";

export interface ModelServingProps {
  readonly sagemaker: DeployConfig["sagemaker"];
  readonly artifacts: ArtifactBucket;
  /** The serving image: `training-image/` built at its `serve` target. */
  readonly servingImage: ecrAssets.DockerImageAsset;
}

/**
 * What SageMaker needs from the stack to host the recommender: the model registry (a Model Package
 * Group), the role endpoints run with, the alarms that roll a blue/green update back, and
 * grants that let each deployment function touch only this project's SageMaker resources.
 *
 * Models and endpoint configs are created at run time by start-deployment, named
 * `<endpointName>-<suffix>`; the grants below are scoped to exactly those names.
 */
export class ModelServing extends Construct {
  readonly executionRole: iam.Role;
  readonly endpointName: string;
  readonly modelPackageGroupName: string;
  readonly rollbackAlarms: readonly cloudwatch.Alarm[];
  readonly servingImageUri: string;

  private readonly arns: {
    readonly endpoint: string;
    readonly endpointConfigs: string;
    readonly models: string;
    readonly modelPackageGroup: string;
    readonly modelPackages: string;
  };

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const { endpointName, modelPackageGroupName, alarms } = props.sagemaker;
    this.endpointName = endpointName;
    this.modelPackageGroupName = modelPackageGroupName;
    this.servingImageUri = props.servingImage.imageUri;
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: "sagemaker", resource, resourceName });
    this.arns = {
      endpoint: arn("endpoint", endpointName),
      endpointConfigs: arn("endpoint-config", `${endpointName}-*`),
      models: arn("model", `${endpointName}-*`),
      modelPackageGroup: arn("model-package-group", modelPackageGroupName),
      modelPackages: arn("model-package", `${modelPackageGroupName}/*`),
    };

    // No CloudFormation resource for the Model Package Group: the registry is the models' lineage and
    // must outlive the stack, and a retained group with a fixed name would make the next `cdk deploy`
    // after a `cdk destroy` fail with "already exists". register-model creates the group on first use
    // (core/deploy/registry.ts), so a redeployed stack carries on with the same group.

    this.executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("sagemaker.amazonaws.com"),
      description: `The ${endpointName} endpoint: reads model.tar.gz from the runs, pulls the serving image, logs`,
    });
    props.artifacts.grantReadRuns(this.executionRole);
    props.servingImage.repository.grantPull(this.executionRole);
    const endpointLogs = stack.formatArn({
      service: "logs",
      resource: "log-group",
      resourceName: `/aws/sagemaker/Endpoints/${endpointName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        resources: [endpointLogs],
      }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: { StringLike: { "cloudwatch:namespace": ["/aws/sagemaker/Endpoints", "AWS/SageMaker"] } },
      }),
    );

    const dimensionsMap = { EndpointName: endpointName, VariantName: VARIANT_NAME };
    const errors = new cloudwatch.Alarm(this, "Invocation5xxErrors", {
      alarmName: `${endpointName}-invocation-5xx-errors`,
      alarmDescription: `5xx answers from ${endpointName}: rolls a blue/green update back while it is baking`,
      metric: new cloudwatch.Metric({
        namespace: "AWS/SageMaker",
        metricName: "Invocation5XXErrors",
        dimensionsMap,
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(1),
      }),
      threshold: alarms.invocation5xxErrorsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = new cloudwatch.Alarm(this, "ModelLatency", {
      alarmName: `${endpointName}-model-latency`,
      alarmDescription: `p99 model latency of ${endpointName} above ${alarms.modelLatencyP99Ms} ms: rolls a blue/green update back`,
      metric: new cloudwatch.Metric({
        namespace: "AWS/SageMaker",
        metricName: "ModelLatency",
        dimensionsMap,
        statistic: cloudwatch.Stats.p(99),
        period: Duration.minutes(1),
      }),
      // ModelLatency is reported in microseconds.
      threshold: alarms.modelLatencyP99Ms * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.rollbackAlarms = [errors, latency];
    // SageMaker reads the rollback alarms with the endpoint's execution role during a guarded update:
    // "Auto-Rollback Configuration and Monitoring"
    // (docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["cloudwatch:DescribeAlarms"],
        resources: this.rollbackAlarms.map((alarm) => alarm.alarmArn),
      }),
    );

    acknowledgeNag(
      this.executionRole,
      "AwsSolutions-IAM5",
      "SageMaker hosting needs: ecr:GetAuthorizationToken and cloudwatch:PutMetricData, which have no resource-level permissions (PutMetricData is limited to SageMaker's namespaces by condition); log streams of this endpoint's own log group; model.tar.gz of any run under runs/ (run ids are only known at run time).",
      [
        wildcardResource("ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"),
        nagResourceFinding(this, endpointLogs),
        "Action::s3:GetObject*",
        "Action::s3:GetBucket*",
        "Action::s3:List*",
        props.artifacts.runObjectsFinding,
      ],
    );
  }

  /** The alarm names start-deployment puts in the update's AutoRollbackConfiguration. */
  get rollbackAlarmNames(): string[] {
    // The names are fixed at synth, so the function's environment shows them rather than Refs.
    return this.rollbackAlarms.map((alarm) => (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName as string);
  }

  /** register-model: create model package versions in this project's group and set their approval. */
  grantRegister(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      {
        // The registry creates the group on its first registration (no stack resource: it outlives the stack).
        actions: ["sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup"],
        resources: [this.arns.modelPackageGroup],
      },
      {
        actions: ["sagemaker:CreateModelPackage", "sagemaker:AddTags"],
        resources: [this.arns.modelPackageGroup, this.arns.modelPackages],
      },
      {
        actions: ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage", "sagemaker:ListTags"],
        resources: [this.arns.modelPackages],
      },
    ]);
    this.grantListing(grantee, ["sagemaker:ListModelPackages"]);
  }

  /** evaluate: find the champion — the approved versions, and which model the endpoint serves. */
  grantReadRegistry(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      { actions: ["sagemaker:DescribeModelPackageGroup"], resources: [this.arns.modelPackageGroup] },
      { actions: ["sagemaker:DescribeModelPackage"], resources: [this.arns.modelPackages] },
      { actions: ["sagemaker:DescribeEndpoint"], resources: [this.arns.endpoint] },
      { actions: ["sagemaker:DescribeEndpointConfig"], resources: [this.arns.endpointConfigs] },
      { actions: ["sagemaker:DescribeModel"], resources: [this.arns.models] },
    ]);
    this.grantListing(grantee, ["sagemaker:ListModelPackages"]);
  }

  /** start-deployment: create the model and endpoint config, create or update the endpoint (blue/green). */
  grantDeploy(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      { actions: ["sagemaker:CreateModel", "sagemaker:DescribeModel"], resources: [this.arns.models] },
      {
        actions: ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"],
        resources: [this.arns.endpointConfigs],
      },
      {
        actions: ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
        resources: [this.arns.endpoint, this.arns.endpointConfigs],
      },
      // A Failed endpoint (it never served) can only be deleted, then created anew by the retry.
      { actions: ["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"], resources: [this.arns.endpoint] },
      { actions: ["sagemaker:ListTags"], resources: [this.arns.endpointConfigs] },
      {
        actions: ["sagemaker:AddTags"],
        resources: [this.arns.endpoint, this.arns.endpointConfigs, this.arns.models],
      },
      { actions: ["cloudwatch:DescribeAlarms"], resources: this.rollbackAlarms.map((alarm) => alarm.alarmArn) },
      {
        actions: ["iam:PassRole"],
        resources: [this.executionRole.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
      },
    ]);
  }

  /** check-deployment: the endpoint's status, and the config it runs. */
  grantDescribe(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      { actions: ["sagemaker:DescribeEndpoint"], resources: [this.arns.endpoint] },
      { actions: ["sagemaker:DescribeEndpointConfig"], resources: [this.arns.endpointConfigs] },
    ]);
  }

  /** smoke-test: call the endpoint. */
  grantInvoke(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      { actions: ["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"], resources: [this.arns.endpoint] },
    ]);
  }

  /** roll-back-deployment: point the endpoint back at the previous endpoint config. */
  grantRollBack(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      {
        actions: ["sagemaker:UpdateEndpoint"],
        resources: [this.arns.endpoint, this.arns.endpointConfigs],
      },
      // A first deployment that fails its smoke test has nothing to go back to: it is deleted.
      { actions: ["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"], resources: [this.arns.endpoint] },
      { actions: ["sagemaker:DescribeEndpointConfig"], resources: [this.arns.endpointConfigs] },
    ]);
  }

  /** clean-up-deployments: delete this endpoint's old models and endpoint configs. */
  grantCleanUp(grantee: iam.IGrantable): void {
    this.grant(grantee, [
      { actions: ["sagemaker:DescribeEndpoint"], resources: [this.arns.endpoint] },
      {
        actions: ["sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:ListTags"],
        resources: [this.arns.endpointConfigs],
      },
      // Tags confirm a model is this endpoint's before it is deleted.
      { actions: ["sagemaker:DeleteModel", "sagemaker:ListTags"], resources: [this.arns.models] },
    ]);
    this.grantListing(grantee, ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"]);
  }

  private grant(
    grantee: iam.IGrantable,
    statements: readonly {
      actions: string[];
      resources: string[];
      conditions?: Record<string, Record<string, unknown>>;
    }[],
  ): void {
    for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    this.acknowledgeNamedWildcards(grantee);
  }

  /** SageMaker's List* actions have no resource-level permissions: they can only be granted on `*`. */
  private grantListing(grantee: iam.IGrantable, actions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: ["*"] }));
    const target = grantee.grantPrincipal instanceof Construct ? grantee.grantPrincipal : grantee;
    if (target instanceof Construct)
      acknowledgeNag(target, "AwsSolutions-IAM5", "SageMaker's List* actions support only Resource *.", [
        wildcardResource(...actions),
      ]);
  }

  private acknowledgeNamedWildcards(grantee: iam.IGrantable): void {
    // The grant lands on the principal's policy (a function's role is its sibling, not its child).
    const target = grantee.grantPrincipal instanceof Construct ? grantee.grantPrincipal : grantee;
    if (!(target instanceof Construct)) return;
    acknowledgeNag(
      target,
      "AwsSolutions-IAM5",
      "SageMaker resources are scoped to this project's names: models and endpoint configs are named <endpoint>-<run id> at run time, model packages are versions of this project's group",
      [
        nagResourceFinding(this, this.arns.endpointConfigs),
        nagResourceFinding(this, this.arns.models),
        nagResourceFinding(this, this.arns.modelPackages),
      ],
    );
  }
}
