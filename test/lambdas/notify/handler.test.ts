import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createNotifyHandler, MAX_CAUSE_LENGTH, readableCause } from "../../../lambdas/notify/handler.ts";

const sfnMock = mockClient(SFNClient);
const snsMock = mockClient(SNSClient);
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:pms-pipeline-notifications";
const EXECUTION_ARN = "arn:aws:states:eu-west-1:123456789012:execution:pms-pipeline:nightly-2026-11-26";
const CONSOLE = `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN}`;
const INPUT_SECRET = "input-value-that-must-not-leak";

function statusChange(status: string, extra: Record<string, unknown> = {}) {
  return {
    version: "0",
    id: "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: "2026-11-26T03:10:00Z",
    region: "eu-west-1",
    resources: [EXECUTION_ARN],
    detail: {
      executionArn: EXECUTION_ARN,
      stateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:pms-pipeline",
      name: "nightly-2026-11-26",
      status,
      startDate: Date.parse("2026-11-26T02:00:00Z"),
      stopDate: Date.parse("2026-11-26T03:10:00Z"),
      input: JSON.stringify({ trigger: "console", reason: INPUT_SECRET }),
      inputDetails: { included: true },
      output: null,
      outputDetails: { included: true },
      ...extra,
    },
  };
}

/** History events, newest first, as GetExecutionHistory returns them with reverseOrder. */
function history(...events: Array<Omit<HistoryEvent, "id" | "timestamp">>): HistoryEvent[] {
  return events.map((event, index) => ({
    id: events.length - index,
    timestamp: new Date("2026-11-26T03:00:00Z"),
    ...event,
  })) as HistoryEvent[];
}

function entered(type: string, name: string): Omit<HistoryEvent, "id" | "timestamp"> {
  return { type: type as HistoryEvent["type"], stateEnteredEventDetails: { name } };
}

function publishedMessage(): { subject: string; message: string } {
  const calls = snsMock.commandCalls(PublishCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0]?.args[0].input;
  expect(input?.TopicArn).toBe(TOPIC);
  return { subject: input?.Subject ?? "", message: input?.Message ?? "" };
}

const notify = () =>
  createNotifyHandler({
    sfn: new SFNClient({ region: "eu-west-1" }),
    sns: new SNSClient({ region: "eu-west-1" }),
    topicArn: TOPIC,
  });

beforeEach(() => {
  sfnMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: "msg-1" });
});

afterAll(() => {
  sfnMock.restore();
  snsMock.restore();
});

describe("notify handler", () => {
  it("names the failed stage, the Fail state and the reason of a Batch failure, without the job's command or environment", async () => {
    // Prepare
    const batchCause = JSON.stringify({
      JobName: "train-261126",
      Status: "FAILED",
      StatusReason: "Essential container in task exited",
      Attempts: [
        {
          Container: { ExitCode: 137, Reason: "OutOfMemoryError: Container killed due to memory usage" },
          StatusReason: "Essential container in task exited",
        },
      ],
      Container: {
        Command: ["train", "--hyperparameters", INPUT_SECRET],
        Environment: [{ Name: "SOMETHING", Value: INPUT_SECRET }],
      },
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: history(
        { type: "ExecutionFailed", executionFailedEventDetails: { error: "TrainingFailed", cause: batchCause } },
        entered("FailStateEntered", "Training failed"),
        {
          type: "TaskFailed",
          taskFailedEventDetails: {
            resource: "submitJob.sync",
            resourceType: "batch",
            error: "States.TaskFailed",
            cause: batchCause,
          },
        },
        { type: "TaskSubmitted" },
        entered("TaskStateEntered", "Train the model on a GPU"),
        { type: "TaskStateExited", stateExitedEventDetails: { name: "Check the extract" } },
        { type: "LambdaFunctionFailed", lambdaFunctionFailedEventDetails: { error: "Unrelated", cause: "earlier" } },
      ),
    });

    // Act
    const result = await notify()(statusChange("FAILED"));

    // Assess
    const { subject, message } = publishedMessage();
    expect(result).toEqual({ published: true, messageId: "msg-1", subject });
    expect(subject).toBe('Pipeline FAILED at "Train the model on a GPU": nightly-2026-11-26');
    expect(message).toContain('execution "nightly-2026-11-26" failed at "Train the model on a GPU"');
    expect(message).toContain("Failed stage: Train the model on a GPU");
    expect(message).toContain("Ended in: Training failed");
    expect(message).toContain("Error: TrainingFailed");
    expect(message).toContain(
      "Cause: Essential container in task exited; OutOfMemoryError: Container killed due to memory usage; exit code 137",
    );
    expect(message).toContain("Stage error: States.TaskFailed: Essential container");
    expect(message).toContain(`Open the execution: ${CONSOLE}`);
    expect(message).toContain("(1 h 10 min)");
    expect(message).not.toContain(INPUT_SECRET);
    expect(message).not.toContain("Unrelated");
    const historyCall = sfnMock.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input;
    expect(historyCall).toMatchObject({ executionArn: EXECUTION_ARN, reverseOrder: true, includeExecutionData: false });
  });

  it("reports a dbt run failure from its Check stage, ignoring an earlier error that a retry overcame", async () => {
    // Prepare
    const cause =
      "dbt run 4242 ended with status error: Database Error in model stg_events (https://cloud.getdbt.com/deploy/1/projects/2/runs/4242/)";
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: history(
        { type: "ExecutionFailed", executionFailedEventDetails: { error: "DbtRunFailed", cause } },
        entered("FailStateEntered", "The dbt run failed"),
        { type: "PassStateExited", stateExitedEventDetails: { name: "Describe why the dbt run failed" } },
        entered("PassStateEntered", "Describe why the dbt run failed"),
        { type: "ChoiceStateExited", stateExitedEventDetails: { name: "Is the dbt run finished?" } },
        entered("ChoiceStateEntered", "Is the dbt run finished?"),
        { type: "TaskStateExited", stateExitedEventDetails: { name: "Check the dbt run" } },
        { type: "TaskSucceeded", taskSucceededEventDetails: { resource: "invoke", resourceType: "lambda" } },
        { type: "TaskStarted" },
        { type: "TaskScheduled" },
        {
          type: "TaskFailed",
          taskFailedEventDetails: {
            resource: "invoke",
            resourceType: "lambda",
            error: "TransientError",
            cause: "HTTP 503",
          },
        },
        entered("TaskStateEntered", "Check the dbt run"),
      ),
    });

    // Act
    await notify()(statusChange("FAILED"));

    // Assess
    const { message } = publishedMessage();
    expect(message).toContain("Failed stage: Check the dbt run");
    expect(message).toContain("Ended in: The dbt run failed");
    expect(message).toContain("Error: DbtRunFailed");
    expect(message).toContain(`Cause: ${cause}`);
    expect(message).not.toContain("Stage error");
    expect(message).not.toContain("TransientError");
  });

  it("keeps a Lambda error's type and message but not its stack trace, and truncates long causes", async () => {
    // Prepare
    const lambdaCause = JSON.stringify({
      errorType: "InvalidExecutionInput",
      errorMessage: `The execution input is invalid:\nwindow.end: ${"x".repeat(2000)}`,
      trace: ["InvalidExecutionInputError: at resolveRunContext (/var/task/index.mjs:1:1)"],
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: history(
        {
          type: "ExecutionFailed",
          executionFailedEventDetails: { error: "InvalidExecutionInput", cause: lambdaCause },
        },
        entered("FailStateEntered", "The execution input is invalid"),
        {
          type: "TaskFailed",
          taskFailedEventDetails: {
            resource: "invoke",
            resourceType: "lambda",
            error: "InvalidExecutionInput",
            cause: lambdaCause,
          },
        },
        entered("TaskStateEntered", "Prepare the run"),
      ),
    });

    // Act
    await notify()(statusChange("FAILED"));

    // Assess
    const { message } = publishedMessage();
    expect(message).toContain("Failed stage: Prepare the run");
    expect(message).toContain("Cause: InvalidExecutionInput: The execution input is invalid:\nwindow.end: xxx");
    expect(message).toContain("… (truncated)");
    expect(message).not.toContain("resolveRunContext");
    expect(message).not.toContain("Stage error");
  });

  it("falls back to DescribeExecution when the history has no end event in reach", async () => {
    // Prepare
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: history({ type: "WaitStateExited" }), nextToken: "page-2" })
      .resolvesOnce({ events: history(entered("TaskStateEntered", "Start the deployment")) });
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:pms-pipeline",
      status: "TIMED_OUT",
      startDate: new Date(),
      error: "States.Timeout",
      cause: "The execution timed out",
      input: JSON.stringify({ reason: INPUT_SECRET }),
    });

    // Act
    await notify()(statusChange("TIMED_OUT"));

    // Assess
    const { subject, message } = publishedMessage();
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)[1]?.args[0].input.nextToken).toBe("page-2");
    expect(subject).toBe('Pipeline TIMED OUT at "Start the deployment": nightly-2026-11-26');
    expect(message).toContain("timed out");
    expect(message).toContain("Error: States.Timeout");
    expect(message).toContain("Cause: The execution timed out");
    expect(message).not.toContain(INPUT_SECRET);
  });

  it("announces a success with the run, model version, endpoint and report, and nothing of the input", async () => {
    // Prepare
    const output = JSON.stringify({
      run: { runId: "20261126T020000-nightly-abc123", tenant: INPUT_SECRET, reason: INPUT_SECRET },
      evaluation: {
        passed: true,
        reportUri: "s3://pms-artifacts/runs/20261126T020000-nightly-abc123/report/report.html",
      },
      registration: {
        modelPackageArn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms/7",
        approvalStatus: "Approved",
      },
      deployment: { endpointName: "pms-recommender" },
      smokeTest: { passed: true },
    });

    // Act
    await notify()(statusChange("SUCCEEDED", { output }));

    // Assess
    const { subject, message } = publishedMessage();
    expect(subject).toBe("Pipeline succeeded: nightly-2026-11-26");
    expect(message).toContain("Run: 20261126T020000-nightly-abc123");
    expect(message).toContain("Quality gate: passed");
    expect(message).toContain("Model version: arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms/7 (Approved)");
    expect(message).toContain("Endpoint: pms-recommender, smoke test passed");
    expect(message).toContain("Report: s3://pms-artifacts/runs/20261126T020000-nightly-abc123/report/report.html");
    expect(message).toContain(`Open the execution: ${CONSOLE}`);
    expect(message).not.toContain(INPUT_SECRET);
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it("reads a success's output through DescribeExecution when the event left it out", async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:pms-pipeline",
      status: "SUCCEEDED",
      startDate: new Date(),
      output: JSON.stringify({ evaluation: { passed: true, reportUri: "s3://b/report.html" } }),
    });

    // Act
    await notify()(statusChange("SUCCEEDED", { output: null, outputDetails: { included: false } }));

    // Assess
    const { message } = publishedMessage();
    expect(message).toContain("Report: s3://b/report.html");
    expect(message).toContain("Deployment: skipped");
  });

  it("publishes nothing for a RUNNING status change", async () => {
    // Act
    const result = await notify()(statusChange("RUNNING"));

    // Assess
    expect(result).toEqual({ published: false });
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("refuses an event that is not an execution status change", async () => {
    // Act
    const error = await notify()({ "detail-type": "Object Created", detail: {} }).catch((caught: Error) => caught);

    // Assess
    expect((error as Error).name).toBe("InvalidTaskEvent");
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe("readableCause", () => {
  it("keeps plain text and bounds its length", () => {
    expect(readableCause("dbt run timed out")).toBe("dbt run timed out");
    expect(readableCause("y".repeat(5000))).toHaveLength(MAX_CAUSE_LENGTH + "… (truncated)".length);
  });

  it("hides structured causes it does not know", () => {
    expect(readableCause(JSON.stringify({ Payload: { run: { reason: INPUT_SECRET } } }))).toBe(
      "(structured cause: see the execution in the console)",
    );
  });
});
