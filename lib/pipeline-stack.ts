import { execFileSync } from "node:child_process";
import { CfnOutput, Duration, IgnoreMode, Stack, type StackProps, Tags } from "aws-cdk-lib";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { DeployConfig } from "./config.ts";
import { ArtifactBucket } from "./constructs/artifact-bucket.ts";
import { ModelServing } from "./constructs/model-serving.ts";
import { NightlySchedule } from "./constructs/nightly-schedule.ts";
import { type FunctionName, PipelineLambdas } from "./constructs/pipeline-lambdas.ts";
import { PipelineMonitoring } from "./constructs/pipeline-monitoring.ts";
import { PipelineNotifications } from "./constructs/pipeline-notifications.ts";
import { SnowflakeUnloadRole } from "./constructs/snowflake-unload-role.ts";
import { TrainingCompute } from "./constructs/training-compute.ts";
import { PipelineStateMachine } from "./pipeline/pipeline-state-machine.ts";
import { PROJECT_ROOT } from "./project-paths.ts";

/**
 * The Docker build context of the training image: the project root, filtered to what the image
 * needs (the training entry point imports `core/`), so synthesis copies kilobytes, not node_modules.
 */
export const TRAINING_IMAGE_CONTEXT = {
  directory: PROJECT_ROOT,
  file: "training-image/Dockerfile",
  include: ["core", "training-image", "package.json", "package-lock.json"],
} as const;

/** The commit the images are built from, recorded in every model's metadata. */
function currentCodeVersion(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

export interface PipelineStackProps extends StackProps {
  readonly config: DeployConfig;
  /**
   * Handler entry files by function (relative to the project root).
   * @default FUNCTION_ENTRIES
   */
  readonly functionEntries?: Readonly<Record<FunctionName, string>>;
  /**
   * The training image's build context and Dockerfile (relative to the context).
   * @default TRAINING_IMAGE_CONTEXT
   */
  readonly trainingImage?: { readonly directory: string; readonly file: string; readonly include: readonly string[] };
  /**
   * `CODE_VERSION` of the images (the training entry point writes it into each model's metadata).
   * @default the current git commit, or "unknown" outside a git checkout
   */
  readonly codeVersion?: string;
}

/** The whole cloud pipeline: artifacts, GPU training, Lambdas, the state machine, its schedule and its alarms. */
export class PipelineStack extends Stack {
  readonly artifacts: ArtifactBucket;
  readonly training: TrainingCompute;
  readonly serving: ModelServing;
  readonly lambdas: PipelineLambdas;
  readonly pipeline: PipelineStateMachine;
  readonly schedule: NightlySchedule;
  readonly notifications: PipelineNotifications;
  readonly monitoring: PipelineMonitoring;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, {
      description: "post-modern-stack: nightly dbt Cloud → Snowflake → GPU training → evaluation → SageMaker pipeline",
      ...props,
    });
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    for (const [key, value] of Object.entries(config.costTags)) Tags.of(this).add(key, value);

    this.artifacts = new ArtifactBucket(this, "Artifacts");
    const unloadRole = config.snowflake.storageIntegration
      ? new SnowflakeUnloadRole(this, "SnowflakeUnload", {
          artifacts: this.artifacts,
          namePrefix: config.namePrefix,
          storageIntegration: config.snowflake.storageIntegration,
        })
      : undefined;

    const image = props.trainingImage ?? TRAINING_IMAGE_CONTEXT;
    const imageAsset = (id: string, target: "train" | "serve") =>
      new ecrAssets.DockerImageAsset(this, id, {
        directory: image.directory,
        file: image.file,
        target,
        platform: ecrAssets.Platform.LINUX_AMD64,
        buildArgs: { CUDA_BASE: config.batch.cudaBaseImage, CODE_VERSION: props.codeVersion ?? currentCodeVersion() },
        ignoreMode: IgnoreMode.DOCKER,
        exclude: ["*", ...image.include.map((path) => `!${path}`), "**/node_modules"],
      });
    this.training = new TrainingCompute(this, "Training", {
      batch: config.batch,
      vpc: config.vpc,
      namePrefix: config.namePrefix,
      artifacts: this.artifacts,
      image: imageAsset("TrainingImage", "train"),
      logRetention,
    });
    this.serving = new ModelServing(this, "Serving", {
      sagemaker: config.sagemaker,
      artifacts: this.artifacts,
      servingImage: imageAsset("ServingImage", "serve"),
    });
    this.lambdas = new PipelineLambdas(this, "Functions", {
      config,
      artifacts: this.artifacts,
      serving: this.serving,
      logRetention,
      ...(props.functionEntries ? { entries: props.functionEntries } : {}),
    });
    this.pipeline = new PipelineStateMachine(this, "Pipeline", {
      functions: this.lambdas.functions,
      trainingJob: {
        jobQueue: this.training.jobQueue,
        jobDefinition: this.training.jobDefinition,
        timeout: this.training.stateMachineTimeout,
      },
      polling: {
        dbtRun: Duration.seconds(config.dbtCloud.pollIntervalSeconds),
        extract: Duration.seconds(config.snowflake.pollIntervalSeconds),
        endpoint: Duration.seconds(config.sagemaker.pollIntervalSeconds),
      },
      namePrefix: config.namePrefix,
      logRetention,
    });
    this.schedule = new NightlySchedule(this, "Nightly", {
      stateMachine: this.pipeline.stateMachine,
      schedule: config.schedule,
      namePrefix: config.namePrefix,
    });
    this.notifications = new PipelineNotifications(this, "Notifications", {
      stateMachine: this.pipeline.stateMachine,
      namePrefix: config.namePrefix,
      emails: config.notificationEmails,
      logRetention,
      ...(props.functionEntries ? { notifyEntry: props.functionEntries.notify } : {}),
    });

    this.monitoring = new PipelineMonitoring(this, "Monitoring", {
      namePrefix: config.namePrefix,
      stateMachine: this.pipeline.stateMachine,
      alarmTopic: this.notifications.topic,
      functions: { ...this.lambdas.functions, notify: this.notifications.notify },
      evaluateFunction: this.lambdas.functions.evaluate,
      deploymentFunction: this.lambdas.functions.cleanUpDeployments,
      endpointName: this.serving.endpointName,
      // Three quarters of one attempt's timeout: time to act before a night's training is cut off.
      trainingDurationAlarm: Duration.minutes(Math.round(config.batch.jobTimeoutMinutes * 0.75)),
      endpoint5xxPerMinute: config.sagemaker.alarms.invocation5xxErrorsPerMinute,
      endpointLatencyP99: Duration.millis(config.sagemaker.alarms.modelLatencyP99Ms),
    });

    // What the deploy steps (Snowflake stage, `pms start`) need from the deployed stack.
    new CfnOutput(this, "ArtifactBucketName", { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, "StateMachineArn", { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, "NotificationTopicArn", { value: this.notifications.topic.topicArn });
    new CfnOutput(this, "EndpointName", { value: this.serving.endpointName });
    if (unloadRole) new CfnOutput(this, "SnowflakeUnloadRoleArn", { value: unloadRole.role.roleArn });
  }
}
