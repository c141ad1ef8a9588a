import { Duration, Fn, RemovalPolicy, Size, Stack } from "aws-cdk-lib";
import * as batch from "aws-cdk-lib/aws-batch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { DeployConfig } from "../config.ts";
import { acknowledgeNag, wildcardResource } from "../nag.ts";
import type { ArtifactBucket } from "./artifact-bucket.ts";

export interface TrainingComputeProps {
  readonly batch: DeployConfig["batch"];
  readonly vpc: DeployConfig["vpc"];
  readonly namePrefix: string;
  readonly artifacts: ArtifactBucket;
  /** The training image: `training-image/` built at its `train` target. */
  readonly image: ecrAssets.DockerImageAsset;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Interface endpoints an instance in an isolated subnet needs to join ECS, pull from ECR, log and
 * get credentials. (Nothing inside the VPC calls the Batch API, so it needs no Batch endpoint.)
 */
const INTERFACE_ENDPOINTS = {
  Ecr: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
  EcsAgent: ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
  EcsTelemetry: ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
} as const;

/**
 * GPU training on AWS Batch: the network, Spot and on-demand compute environments (Spot first in
 * the queue), and the job definition running the training image with one GPU, retried on Spot
 * reclaims and never on application errors.
 */
export class TrainingCompute extends Construct {
  readonly vpc: ec2.IVpc;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly jobRole: iam.Role;
  /** Job timeout × attempts, plus an hour of queueing: what the state machine's Train task may take. */
  readonly stateMachineTimeout: Duration;

  constructor(scope: Construct, id: string, props: TrainingComputeProps) {
    super(scope, id);
    const { batch: settings } = props;
    const { vpc, subnets, securityGroup } = this.network(props);
    this.vpc = vpc;
    const instanceRole = new iam.Role(this, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AmazonEC2ContainerServiceforEC2Role")],
    });
    acknowledgeNag(
      instanceRole,
      "AwsSolutions-IAM4",
      "AmazonEC2ContainerServiceforEC2Role is the AWS-maintained policy the ECS agent on Batch container instances needs to register and pull images; the job's own permissions are on the separate job role.",
      ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"],
    );

    const instanceTypes = settings.instanceTypes.map((type) => new ec2.InstanceType(type));
    const computeEnvironment = (name: string, spot: boolean) =>
      new batch.ManagedEc2EcsComputeEnvironment(this, name, {
        vpc,
        vpcSubnets: subnets,
        securityGroups: [securityGroup],
        instanceRole,
        instanceTypes,
        useOptimalInstanceClasses: false,
        images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
        spot,
        allocationStrategy: spot
          ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
          : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        minvCpus: 0,
        maxvCpus: settings.maxVcpus,
        updateToLatestImageVersion: true,
      });
    const environments: batch.IManagedComputeEnvironment[] = [];
    if (settings.purchase !== "on-demand") environments.push(computeEnvironment("SpotEnvironment", true));
    if (settings.purchase !== "spot") environments.push(computeEnvironment("OnDemandEnvironment", false));

    this.jobQueue = new batch.JobQueue(this, "JobQueue", {
      jobQueueName: `${props.namePrefix}-training`,
      // Order is the fallback: Batch places a job in the first environment that can take it.
      computeEnvironments: environments.map((computeEnvironment, index) => ({ computeEnvironment, order: index + 1 })),
      // A job that can never start should fail the execution with a reason, not wait for its timeout.
      jobStateTimeLimitActions: [
        {
          maxTime: Duration.minutes(10),
          reason: batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT,
          action: batch.JobStateTimeLimitActionsAction.CANCEL,
        },
        {
          maxTime: Duration.minutes(10),
          reason: batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE,
          action: batch.JobStateTimeLimitActionsAction.CANCEL,
        },
        {
          maxTime: Duration.hours(2),
          reason: batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY,
          action: batch.JobStateTimeLimitActionsAction.CANCEL,
        },
      ],
    });

    this.jobRole = new iam.Role(this, "JobRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "The training container: reads its run's data, writes its model",
    });
    props.artifacts.grantReadWriteRuns(this.jobRole);
    const executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Pulls the training image and writes the job's logs",
    });
    const logGroup = new logs.LogGroup(this, "JobLogs", {
      // A fixed name, so `pms status` and people can find a job's log stream from its name alone.
      logGroupName: `/aws/batch/${props.namePrefix}-training`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const jobTimeout = Duration.minutes(settings.jobTimeoutMinutes);
    this.jobDefinition = new batch.EcsJobDefinition(this, "JobDefinition", {
      jobDefinitionName: `${props.namePrefix}-training`,
      container: new batch.EcsEc2ContainerDefinition(this, "Container", {
        image: ecs.ContainerImage.fromDockerImageAsset(props.image),
        cpu: settings.jobVcpus,
        memory: Size.mebibytes(settings.jobMemoryMiB),
        gpu: settings.jobGpus,
        // The state machine always overrides the command with `$.run.trainingCommand`.
        command: ["train", "--help"],
        jobRole: this.jobRole,
        executionRole,
        logging: ecs.LogDriver.awsLogs({ logGroup, streamPrefix: "train" }),
        environment: { AWS_REGION: Stack.of(this).region },
      }),
      timeout: jobTimeout,
      retryAttempts: settings.attempts,
      retryStrategies: [
        // A Spot reclaim is the platform's fault: run the job again on a new instance.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        // Anything else (a crash, bad data, out of memory) would fail the same way again.
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: "*" })),
      ],
      propagateTags: true,
    });
    this.stateMachineTimeout = Duration.minutes(settings.jobTimeoutMinutes * settings.attempts + 60);

    acknowledgeNag(
      executionRole,
      "AwsSolutions-IAM5",
      "ecr:GetAuthorizationToken does not support resource-level permissions; image pulls themselves are limited to the asset repository.",
      [wildcardResource("ecr:GetAuthorizationToken")],
    );
    props.artifacts.acknowledgeRunPrefixGrants(
      this.jobRole,
      "The training job reads its run's data and writes its model",
    );
  }

  private network(props: TrainingComputeProps): {
    vpc: ec2.IVpc;
    subnets: ec2.SubnetSelection;
    securityGroup: ec2.SecurityGroup;
  } {
    const instanceSecurityGroup = (vpc: ec2.IVpc) =>
      new ec2.SecurityGroup(this, "InstanceSecurityGroup", {
        vpc,
        description:
          "Training instances - no inbound, outbound to AWS APIs through the VPC endpoints or the VPC routes",
        allowAllOutbound: true,
      });
    const existing = props.vpc.existing;
    if (existing) {
      const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
        vpcId: existing.vpcId,
        // Only the explicit subnets below are used; the zones are placeholders fromVpcAttributes requires.
        availabilityZones: existing.subnetIds.map((_, index) => Fn.select(index, Fn.getAzs())),
        privateSubnetIds: existing.subnetIds,
      });
      const subnets = existing.subnetIds.map((subnetId, index) =>
        ec2.Subnet.fromSubnetId(this, `Subnet${index}`, subnetId),
      );
      return { vpc, subnets: { subnets }, securityGroup: instanceSecurityGroup(vpc) };
    }
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: props.vpc.maxAzs,
      natGateways: 0,
      subnetConfiguration: [{ name: "training", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, "FlowLogs", {
              retention: props.logRetention,
              removalPolicy: RemovalPolicy.DESTROY,
            }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    const securityGroup = instanceSecurityGroup(vpc);
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      // Only the training instances may reach the endpoints, not the whole VPC CIDR.
      const endpoint = vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        open: false,
        // Each endpoint costs per AZ-hour; instances in other zones reach these across zones.
        subnets: { subnets: vpc.isolatedSubnets.slice(0, props.vpc.endpointAzs) },
      });
      endpoint.connections.allowFrom(securityGroup, ec2.Port.HTTPS, "HTTPS from the training instances");
    }
    return { vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroup };
  }
}
