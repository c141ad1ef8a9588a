import { BatchClient, DescribeJobsCommand } from "@aws-sdk/client-batch";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  deployedExecutionStatus,
  executionArnFor,
  formatDeployedStatus,
  resolveStateMachineArn,
  StateMachineNotFoundError,
  startDeployedExecution,
} from "../../local/cloud.ts";

const STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:pms-pipeline";
const EXECUTION_ARN = "arn:aws:states:eu-west-1:123456789012:execution:pms-pipeline:nightly-1";

const sfn = mockClient(SFNClient);
const batch = mockClient(BatchClient);
const cloudFormation = mockClient(CloudFormationClient);
const clients = {
  sfn: new SFNClient({ region: "eu-west-1" }),
  batch: new BatchClient({ region: "eu-west-1" }),
  cloudFormation: new CloudFormationClient({ region: "eu-west-1" }),
};

beforeEach(() => {
  sfn.reset();
  batch.reset();
  cloudFormation.reset();
});

describe("resolveStateMachineArn", () => {
  it("reads the one state machine ARN among the stack's outputs", async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: "pms-pipeline" }).resolves({
      Stacks: [
        {
          StackName: "pms-pipeline",
          CreationTime: new Date(),
          StackStatus: "CREATE_COMPLETE",
          Outputs: [
            { OutputKey: "ArtifactBucketName", OutputValue: "pms-artifacts-123" },
            { OutputKey: "PipelineStateMachineArn", OutputValue: STATE_MACHINE_ARN },
          ],
        },
      ],
    });
    // Act
    const arn = await resolveStateMachineArn(clients, { stackName: "pms-pipeline" });
    // Assess
    expect(arn).toBe(STATE_MACHINE_ARN);
  });

  it("prefers an explicit ARN and rejects one that is not a state machine's", async () => {
    expect(await resolveStateMachineArn(clients, { stateMachineArn: STATE_MACHINE_ARN, stackName: "x" })).toBe(
      STATE_MACHINE_ARN,
    );
    expect(cloudFormation.calls()).toHaveLength(0);
    await expect(
      resolveStateMachineArn(clients, { stateMachineArn: "arn:aws:lambda:eu-west-1:1:function:x" }),
    ).rejects.toThrow(/is not a state machine ARN/);
  });

  it("says what to do when the stack cannot be read or has no state machine output", async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error("Stack with id pms-pipeline does not exist"));
    await expect(resolveStateMachineArn(clients, { stackName: "pms-pipeline" })).rejects.toThrow(
      /does not exist.*cdk deploy.*--state-machine-arn/s,
    );
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: "s", CreationTime: new Date(), StackStatus: "CREATE_COMPLETE", Outputs: [] }],
    });
    await expect(resolveStateMachineArn(clients, { stackName: "s" })).rejects.toBeInstanceOf(StateMachineNotFoundError);
  });
});

describe("startDeployedExecution", () => {
  it("validates the input with the execution-input schema and sends it as the execution's input", async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date() });
    // Act
    const started = await startDeployedExecution(
      clients,
      STATE_MACHINE_ARN,
      { window: { start: "2014-04-01", end: "2014-04-07" }, deploy: "skip" },
      { name: "nightly-1" },
    );
    // Assess
    const [call] = sfn.commandCalls(StartExecutionCommand);
    expect(call?.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: "nightly-1",
      input: JSON.stringify({ trigger: "cli", window: { start: "2014-04-01", end: "2014-04-07" }, deploy: "skip" }),
    });
    expect(started.consoleUrl).toContain("eu-west-1.console.aws.amazon.com/states");
    expect(started.consoleUrl).toContain(encodeURIComponent(EXECUTION_ARN));
  });

  it("refuses a bad input without calling AWS, naming every bad field", async () => {
    await expect(
      startDeployedExecution(clients, STATE_MACHINE_ARN, {
        window: { start: "2014-04-07", end: "2014-04-01" },
        deploy: "always",
      }),
    ).rejects.toThrow(/window\.end[\s\S]*deploy/);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe("deployedExecutionStatus", () => {
  it("reports the failed stage, the cause and the training job's status and log stream", async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      status: "FAILED",
      startDate: new Date("2026-11-26T03:00:00Z"),
      stopDate: new Date("2026-11-26T03:40:00Z"),
      error: "TrainingFailed",
      cause: "Essential container in task exited",
    });
    sfn
      .on(GetExecutionHistoryCommand, { executionArn: EXECUTION_ARN, nextToken: undefined })
      .resolves({
        events: [
          { id: 1, timestamp: new Date(), type: "ExecutionStarted" },
          {
            id: 2,
            timestamp: new Date(),
            type: "TaskStateEntered",
            stateEnteredEventDetails: { name: "Prepare the run" },
          },
          {
            id: 3,
            timestamp: new Date(),
            type: "TaskStateExited",
            stateExitedEventDetails: { name: "Prepare the run" },
          },
          {
            id: 4,
            timestamp: new Date(),
            type: "TaskStateEntered",
            stateEnteredEventDetails: { name: "Train the model on a GPU" },
          },
        ],
        nextToken: "page-2",
      })
      .on(GetExecutionHistoryCommand, { executionArn: EXECUTION_ARN, nextToken: "page-2" })
      .resolves({
        events: [
          {
            id: 5,
            timestamp: new Date(),
            type: "TaskSubmitted",
            taskSubmittedEventDetails: {
              resourceType: "batch",
              resource: "submitJob.sync",
              output: JSON.stringify({
                JobArn: "arn:aws:batch:eu-west-1:123456789012:job/job-42",
                JobId: "job-42",
                JobName: "train-x",
              }),
            },
          },
          {
            id: 6,
            timestamp: new Date(),
            type: "TaskFailed",
            taskFailedEventDetails: { resourceType: "batch", resource: "submitJob.sync", error: "States.TaskFailed" },
          },
          {
            id: 7,
            timestamp: new Date(),
            type: "FailStateEntered",
            stateEnteredEventDetails: { name: "Training failed" },
          },
          {
            id: 8,
            timestamp: new Date(),
            type: "ExecutionFailed",
            executionFailedEventDetails: { error: "TrainingFailed", cause: "Essential container in task exited" },
          },
        ],
      });
    batch.on(DescribeJobsCommand, { jobs: ["job-42"] }).resolves({
      jobs: [
        {
          jobId: "job-42",
          jobName: "train-x",
          jobQueue: "q",
          jobDefinition: "d",
          startedAt: 1,
          status: "FAILED",
          statusReason: "Essential container in task exited",
          attempts: [{}, {}],
          container: { exitCode: 1, logStreamName: "pms-training/default/abc123" },
        },
      ],
    });
    // Act
    const status = await deployedExecutionStatus(clients, EXECUTION_ARN);
    // Assess
    expect(status).toMatchObject({
      status: "FAILED",
      currentState: "Training failed",
      failedState: "Train the model on a GPU",
      error: "TrainingFailed",
      cause: "Essential container in task exited",
      trainingJob: {
        jobId: "job-42",
        status: "FAILED",
        attempts: 2,
        exitCode: 1,
        logGroup: "/aws/batch/job",
        logStreamName: "pms-training/default/abc123",
      },
    });
    const text = formatDeployedStatus(status);
    expect(text).toContain("failed in  Train the model on a GPU");
    expect(text).toContain("aws logs tail /aws/batch/job --log-stream-names pms-training/default/abc123");
  });

  it("shows the running stage and does not ask Batch when no job was submitted", async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      status: "RUNNING",
      startDate: new Date(),
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 1,
          timestamp: new Date(),
          type: "TaskStateEntered",
          stateEnteredEventDetails: { name: "Start the dbt run" },
        },
        {
          id: 2,
          timestamp: new Date(),
          type: "TaskStateExited",
          stateExitedEventDetails: { name: "Start the dbt run" },
        },
        {
          id: 3,
          timestamp: new Date(),
          type: "WaitStateEntered",
          stateEnteredEventDetails: { name: "Wait for the dbt run" },
        },
      ],
    });
    const status = await deployedExecutionStatus(clients, EXECUTION_ARN);
    expect(status.currentState).toBe("Wait for the dbt run");
    expect(status.failedState).toBeUndefined();
    expect(status.trainingJob).toBeUndefined();
    expect(batch.calls()).toHaveLength(0);
  });
});

describe("executionArnFor", () => {
  it("builds an execution ARN from a name and the state machine ARN, and asks for one when missing", () => {
    expect(executionArnFor("nightly-1", STATE_MACHINE_ARN)).toBe(EXECUTION_ARN);
    expect(executionArnFor(EXECUTION_ARN)).toBe(EXECUTION_ARN);
    expect(() => executionArnFor("nightly-1")).toThrow(/--state-machine-arn/);
  });
});
