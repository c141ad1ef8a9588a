import { App, Duration, Size, Stack, Validations } from "aws-cdk-lib";
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
  "checkServedModel",
  "registerModel",
  "startDeployment",
  "checkDeployment",
  "smokeTest",
  "rollBackDeployment",
  "cleanUpDeployments",
] as const satisfies readonly (keyof PipelineFunctions)[];

/** A minimal stack around PipelineStateMachine: inline dummy functions (no bundling) and a dummy Batch job. */
export function pipelineTestStack(
  overrides: Partial<PipelineStateMachineProps> = {},
  options: { envAgnostic?: boolean } = {},
): {
  app: App;
  stack: Stack;
  pipeline: PipelineStateMachine;
  functionLogicalIds: Record<keyof PipelineFunctions, string>;
} {
  const app = new App();
  const stack = new Stack(
    app,
    "PipelineTest",
    options.envAgnostic ? {} : { env: { account: "123456789012", region: "eu-west-1" } },
  );
  const functions = Object.fromEntries(
    FUNCTION_KEYS.map((key) => {
      const fn = new lambda.Function(stack, `Fn${key[0]?.toUpperCase()}${key.slice(1)}`, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: "index.handler",
        code: lambda.Code.fromInline("exports.handler = async () => { throw new Error('test stub'); };"),
      });
      // The stubs stand in for the real functions (lib/constructs), which carry their own cdk-nag review.
      Validations.of(fn).acknowledge(
        { id: "AwsSolutions::AwsSolutions-L1", reason: "Test stub; never deployed." },
        {
          id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
          reason: "Test stub; never deployed.",
        },
      );
      return [key, fn];
    }),
  ) as unknown as Record<keyof PipelineFunctions, lambda.Function>;
  const container = new batch.EcsEc2ContainerDefinition(stack, "TrainingContainer", {
    image: ecs.ContainerImage.fromRegistry("public.ecr.aws/docker/library/node:22"),
    cpu: 4,
    memory: Size.gibibytes(15),
    gpu: 1,
  });
  const jobDefinition = new batch.EcsJobDefinition(stack, "TrainingJob", { container });
  Validations.of(container).acknowledge({
    id: "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/batch/job:*]",
    reason: "Test stub; never deployed.",
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
