import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { z } from "zod";
import { parseTaskEvent } from "../shared/task-event.ts";

/**
 * The EventBridge event Step Functions sends on every execution status change (detail-type
 * "Step Functions Execution Status Change", source "aws.states"): `detail` carries executionArn,
 * stateMachineArn, name, status, startDate and stopDate (epoch milliseconds), input and output
 * (JSON text or null, with inputDetails/outputDetails), and error/cause for failures.
 */
const ExecutionStatusChangeSchema = z.looseObject({
  "detail-type": z.literal("Step Functions Execution Status Change"),
  region: z.string().optional(),
  detail: z.looseObject({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.enum(["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]),
    startDate: z.number().nullish(),
    stopDate: z.number().nullish(),
    output: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
type ExecutionStatusChange = z.infer<typeof ExecutionStatusChangeSchema>;

/** Long enough for a readable reason, short enough for an e-mail; the console has the rest. */
export const MAX_CAUSE_LENGTH = 1000;
/** SNS rejects subjects of 100 characters or more. */
const MAX_SUBJECT_LENGTH = 99;
/** The failed stage is in the last events of a history; a few pages cover any poll loop. */
const MAX_HISTORY_PAGES = 5;

export interface NotifyDependencies {
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  readonly topicArn: string;
}

export interface NotificationResult {
  readonly published: boolean;
  readonly messageId?: string;
  readonly subject?: string;
}

export interface ExecutionNotification {
  readonly subject: string;
  readonly message: string;
}

/** Where an execution stopped: the Task it was in, and what that Task or the execution reported. */
export interface FailureSummary {
  readonly stage?: string;
  readonly stageError?: string;
  readonly stageCause?: string;
  readonly failState?: string;
  readonly error?: string;
  readonly cause?: string;
}

export function createNotifyHandler({ sfn, sns, topicArn }: NotifyDependencies) {
  return async (event: unknown): Promise<NotificationResult> => {
    const change = parseTaskEvent(ExecutionStatusChangeSchema, event, "notify");
    const { detail } = change;
    if (detail.status === "RUNNING" || detail.status === "PENDING_REDRIVE") return { published: false };

    let notification: ExecutionNotification;
    if (detail.status === "SUCCEEDED") {
      const output = detail.output ?? (await describe(sfn, detail.executionArn)).output;
      notification = formatSuccess(change, output ?? null);
    } else {
      let failure = await summariseFailure(sfn, detail.executionArn);
      if (failure.error === undefined && failure.cause === undefined) {
        // The end event was beyond the pages read: the event itself or DescribeExecution has it.
        const described = detail.error || detail.cause ? detail : await describe(sfn, detail.executionArn);
        failure = {
          ...failure,
          ...(described.error ? { error: described.error } : {}),
          ...(described.cause ? { cause: described.cause } : {}),
        };
      }
      notification = formatFailure(change, failure);
    }
    const published = await sns.send(
      new PublishCommand({ TopicArn: topicArn, Subject: notification.subject, Message: notification.message }),
    );
    return {
      published: true,
      subject: notification.subject,
      ...(published.MessageId ? { messageId: published.MessageId } : {}),
    };
  };
}

async function describe(sfn: SFNClient, executionArn: string) {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return {
    output: described.output,
    error: described.error,
    cause: described.cause,
  };
}

const FAILURE_DETAILS: ReadonlyArray<keyof HistoryEvent> = [
  "taskFailedEventDetails",
  "taskTimedOutEventDetails",
  "taskStartFailedEventDetails",
  "taskSubmitFailedEventDetails",
  "lambdaFunctionFailedEventDetails",
  "lambdaFunctionTimedOutEventDetails",
  "lambdaFunctionStartFailedEventDetails",
  "lambdaFunctionScheduleFailedEventDetails",
  "activityFailedEventDetails",
  "activityTimedOutEventDetails",
  "evaluationFailedEventDetails",
];

const EXECUTION_END_DETAILS: ReadonlyArray<keyof HistoryEvent> = [
  "executionFailedEventDetails",
  "executionTimedOutEventDetails",
  "executionAbortedEventDetails",
];

function errorAndCause(event: HistoryEvent, keys: ReadonlyArray<keyof HistoryEvent>) {
  for (const key of keys) {
    const details = event[key] as { error?: string; cause?: string } | undefined;
    if (details) return { error: details.error, cause: details.cause };
  }
  return undefined;
}

/**
 * Reads the history backwards (without execution data, so no input or output reaches this
 * function): the execution's own error and cause, the Fail state it ended in, and the last Task it
 * entered — the stage — with the error that Task reported, if any.
 */
export async function summariseFailure(sfn: SFNClient, executionArn: string): Promise<FailureSummary> {
  const summary: {
    stage?: string;
    stageError?: string;
    stageCause?: string;
    failState?: string;
    error?: string;
    cause?: string;
  } = {};
  let stageSucceeded = false;
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const history = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        includeExecutionData: false,
        maxResults: 200,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const event of history.events ?? []) {
      // A Task that succeeded after retries is not where the execution failed: its earlier,
      // retried errors must not be reported as the reason.
      if (event.type === "TaskSucceeded" || event.type === "LambdaFunctionSucceeded") stageSucceeded = true;
      const ended = errorAndCause(event, EXECUTION_END_DETAILS);
      if (ended && summary.error === undefined && summary.cause === undefined) {
        if (ended.error !== undefined) summary.error = ended.error;
        if (ended.cause !== undefined) summary.cause = ended.cause;
        continue;
      }
      if (event.type === "FailStateEntered" && summary.failState === undefined) {
        const name = event.stateEnteredEventDetails?.name;
        if (name) summary.failState = name;
        continue;
      }
      const failed = errorAndCause(event, FAILURE_DETAILS);
      if (failed && !stageSucceeded && summary.stageError === undefined && summary.stageCause === undefined) {
        if (failed.error !== undefined) summary.stageError = failed.error;
        if (failed.cause !== undefined) summary.stageCause = failed.cause;
        continue;
      }
      if (event.type === "TaskStateEntered") {
        const name = event.stateEnteredEventDetails?.name;
        if (name) summary.stage = name;
        return summary;
      }
    }
    nextToken = history.nextToken;
    if (!nextToken) break;
  }
  return summary;
}

export function formatFailure(change: ExecutionStatusChange, failure: FailureSummary): ExecutionNotification {
  const { detail } = change;
  const where = failure.stage ? ` at "${failure.stage}"` : "";
  const lines = [
    `The post-modern-stack pipeline execution "${detail.name}" ${verb(detail.status)}${where}.`,
    "",
    ...header(change),
  ];
  if (failure.stage) lines.push(`Failed stage: ${failure.stage}`);
  if (failure.failState) lines.push(`Ended in: ${failure.failState}`);
  if (failure.error) lines.push(`Error: ${failure.error}`);
  if (failure.cause) lines.push(`Cause: ${readableCause(failure.cause)}`);
  const stageReason = [failure.stageError, failure.stageCause ? readableCause(failure.stageCause) : undefined]
    .filter(Boolean)
    .join(": ");
  if (stageReason && (failure.stageError !== failure.error || failure.stageCause !== failure.cause))
    lines.push(`Stage error: ${stageReason}`);
  lines.push("", `Open the execution: ${consoleUrl(change)}`);
  return {
    subject: subjectLine(`Pipeline ${detail.status.replace("_", " ")}${where}: ${detail.name}`),
    message: lines.join("\n"),
  };
}

/** Only named fields of the final state are read: no execution input or data set reaches the message. */
const SucceededOutputSchema = z.looseObject({
  run: z.looseObject({ runId: z.string().optional() }).optional(),
  evaluation: z
    .looseObject({
      passed: z.boolean().optional(),
      reportUri: z.string().optional(),
      reasons: z.array(z.string()).optional(),
    })
    .optional(),
  registration: z
    .looseObject({ modelPackageArn: z.string().optional(), approvalStatus: z.string().optional() })
    .optional(),
  deployment: z.looseObject({ endpointName: z.string().optional() }).optional(),
  smokeTest: z.looseObject({ passed: z.boolean().optional() }).optional(),
});

export function formatSuccess(change: ExecutionStatusChange, output: string | null): ExecutionNotification {
  const { detail } = change;
  const lines = [`The post-modern-stack pipeline execution "${detail.name}" succeeded.`, "", ...header(change)];
  const parsed = SucceededOutputSchema.safeParse(output === null ? undefined : safeJson(output));
  if (parsed.success) {
    const { run, evaluation, registration, deployment, smokeTest } = parsed.data;
    if (run?.runId) lines.push(`Run: ${run.runId}`);
    if (evaluation?.passed !== undefined)
      lines.push(`Quality gate: ${evaluation.passed ? "passed" : "not passed (deploy was forced or skipped)"}`);
    if (registration?.modelPackageArn)
      lines.push(`Model version: ${registration.modelPackageArn} (${registration.approvalStatus ?? "unknown status"})`);
    if (deployment?.endpointName)
      lines.push(
        `Endpoint: ${deployment.endpointName}${smokeTest?.passed === undefined ? "" : smokeTest.passed ? ", smoke test passed" : ""}`,
      );
    else lines.push("Deployment: skipped");
    if (evaluation?.reportUri) lines.push(`Report: ${evaluation.reportUri}`);
  }
  lines.push("", `Open the execution: ${consoleUrl(change)}`);
  return { subject: subjectLine(`Pipeline succeeded: ${detail.name}`), message: lines.join("\n") };
}

function verb(status: string): string {
  switch (status) {
    case "FAILED":
      return "failed";
    case "TIMED_OUT":
      return "timed out";
    case "ABORTED":
      return "was aborted";
    default:
      return status.toLowerCase();
  }
}

function header(change: ExecutionStatusChange): string[] {
  const { detail } = change;
  const lines = [`State machine: ${detail.stateMachineArn.split(":").pop() ?? detail.stateMachineArn}`];
  if (detail.startDate) {
    const started = new Date(detail.startDate).toISOString();
    const stopped = detail.stopDate ? new Date(detail.stopDate).toISOString() : undefined;
    lines.push(
      stopped
        ? `Started ${started}, stopped ${stopped} (${duration((detail.stopDate ?? 0) - detail.startDate)})`
        : `Started ${started}`,
    );
  }
  return lines;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The Step Functions console page of the execution, in the execution's own region. */
export function consoleUrl(change: ExecutionStatusChange): string {
  const region = change.region ?? change.detail.executionArn.split(":")[3] ?? "us-east-1";
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${change.detail.executionArn}`;
}

/**
 * Causes are often JSON: a Lambda error (`errorType`, `errorMessage`, `trace`) or a whole Batch job
 * description (command line and environment included). Only the reason fields are kept, so stack
 * traces and execution data stay out of the e-mail; plain text is kept as is. Both are truncated.
 */
export function readableCause(cause: string): string {
  const parsed = safeJson(cause);
  let text = cause;
  if (parsed !== undefined && typeof parsed === "object" && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    const attempts = Array.isArray(record.Attempts) ? (record.Attempts as Array<Record<string, unknown>>) : [];
    const lastAttempt = attempts.at(-1);
    const container = lastAttempt?.Container as Record<string, unknown> | undefined;
    const reason = [
      typeof record.errorType === "string" && typeof record.errorMessage === "string"
        ? `${record.errorType}: ${record.errorMessage}`
        : record.errorMessage,
      record.StatusReason,
      lastAttempt?.StatusReason,
      container?.Reason,
      container?.ExitCode === undefined ? undefined : `exit code ${String(container.ExitCode)}`,
      record.FailureReason,
    ].filter((part): part is string => typeof part === "string" && part !== "");
    text = reason.length > 0 ? [...new Set(reason)].join("; ") : "(structured cause: see the execution in the console)";
  }
  return text.length > MAX_CAUSE_LENGTH ? `${text.slice(0, MAX_CAUSE_LENGTH)}… (truncated)` : text;
}

/** SNS subjects: ASCII, no line breaks, under 100 characters. */
function subjectLine(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "?");
  return ascii.length > MAX_SUBJECT_LENGTH ? `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...` : ascii;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
