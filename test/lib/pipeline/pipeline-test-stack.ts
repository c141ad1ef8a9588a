import { App, Duration, Size, Stack } from "aws-cdk-lib";
import * as batch from "aws-cdk-lib/aws-batch";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type { PipelineFunctions } from "../../../lib/pipeline/pipeline-functions.ts";
import { PipelineStateMachine, type PipelineStateMachineProps } from "../../../lib/pipeline/pipeline-state-machine.ts";

export const TEST_JOB_QUEUE_ARN = "arn:aws:batch:eu-west-1:123456789012:job-queue/pms-gpu";

const FUNCTION_KEYS = [
  "prepareRun",
  "startDbtRun",
  "checkDbtRun",
  "cancelDbtRun",
  "startExtract",
  "checkExtract",
  "evaluate",
  "registerModel",
  "startDeployment",
  "checkDeployment",
  "smokeTest",
  "rollBackDeployment",
  "cleanUpDeployments",
] as const satisfies readonly (keyof PipelineFunctions)[];

/** A minimal stack around PipelineStateMachine: inline dummy functions (no bundling) and a dummy Batch job. */
export function pipelineTestStack(overrides: Partial<PipelineStateMachineProps> = {}): {
  app: App;
  stack: Stack;
  pipeline: PipelineStateMachine;
  functionLogicalIds: Record<keyof PipelineFunctions, string>;
} {
  const app = new App();
  const stack = new Stack(app, "PipelineTest", { env: { account: "123456789012", region: "eu-west-1" } });
  const functions = Object.fromEntries(
    FUNCTION_KEYS.map((key) => [
      key,
      new lambda.Function(stack, `Fn${key[0]?.toUpperCase()}${key.slice(1)}`, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: "index.handler",
        code: lambda.Code.fromInline("exports.handler = async () => { throw new Error('test stub'); };"),
      }),
    ]),
  ) as unknown as Record<keyof PipelineFunctions, lambda.Function>;
  const jobDefinition = new batch.EcsJobDefinition(stack, "TrainingJob", {
    container: new batch.EcsEc2ContainerDefinition(stack, "TrainingContainer", {
      image: ecs.ContainerImage.fromRegistry("public.ecr.aws/docker/library/node:22"),
      cpu: 4,
      memory: Size.gibibytes(15),
      gpu: 1,
    }),
  });
  const pipeline = new PipelineStateMachine(stack, "Pipeline", {
    functions,
    trainingJob: {
      jobQueue: batch.JobQueue.fromJobQueueArn(stack, "Queue", TEST_JOB_QUEUE_ARN),
      jobDefinition,
      timeout: Duration.hours(3),
    },
    polling: { dbtRun: Duration.seconds(30), extract: Duration.seconds(20), endpoint: Duration.minutes(1) },
    namePrefix: "pms-test",
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...overrides,
  });
  const functionLogicalIds = Object.fromEntries(
    FUNCTION_KEYS.map((key) => [key, stack.getLogicalId(functions[key].node.defaultChild as lambda.CfnFunction)]),
  ) as Record<keyof PipelineFunctions, string>;
  return { app, stack, pipeline, functionLogicalIds };
}
