import { BatchClient, DescribeJobsCommand, type JobDetail } from "@aws-sdk/client-batch";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { type ExecutionInput, parseExecutionInput } from "../core/pipeline/execution-input.ts";

/**
 * `pms start` and `pms status`: the deployed pipeline, driven from a terminal. The input is
 * validated with the same schema PrepareRun applies, so a typo fails here, before an execution
 * (and its history) exists.
 */
export interface CloudClients {
  readonly sfn: SFNClient;
  readonly batch: BatchClient;
  readonly cloudFormation: CloudFormationClient;
}

export function createCloudClients(region?: string): CloudClients {
  const config = region ? { region } : {};
  return {
    sfn: new SFNClient(config),
    batch: new BatchClient(config),
    cloudFormation: new CloudFormationClient(config),
  };
}

export class StateMachineNotFoundError extends Error {
  override readonly name = "StateMachineNotFound";
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+$/;

/**
 * The pipeline's state machine ARN: given explicitly, or read from the stack's outputs (the one
 * output whose value is a state machine ARN), so nobody has to copy ARNs around after a deploy.
 */
export async function resolveStateMachineArn(
  clients: Pick<CloudClients, "cloudFormation">,
  options: { readonly stateMachineArn?: string; readonly stackName?: string },
): Promise<string> {
  if (options.stateMachineArn) {
    if (!STATE_MACHINE_ARN.test(options.stateMachineArn))
      throw new StateMachineNotFoundError(
        `--state-machine-arn "${options.stateMachineArn}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>).`,
      );
    return options.stateMachineArn;
  }
  if (!options.stackName)
    throw new StateMachineNotFoundError(
      "No state machine given: pass --state-machine-arn, or --stack-name (default: the stack name in cdk.json).",
    );
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const answer = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: options.stackName }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new StateMachineNotFoundError(
      `Could not read stack "${options.stackName}" (${error instanceof Error ? error.message : String(error)}): deploy it with \`npx cdk deploy\`, check the AWS region and credentials, or pass --state-machine-arn.`,
      { cause: error },
    );
  }
  const arns = outputs.filter((output) => output.OutputValue && STATE_MACHINE_ARN.test(output.OutputValue));
  const [only] = arns;
  if (arns.length !== 1 || !only?.OutputValue)
    throw new StateMachineNotFoundError(
      `Stack "${options.stackName}" has ${arns.length} state machine ARN outputs (${arns.map((o) => o.OutputKey).join(", ") || "none"}); pass --state-machine-arn.`,
    );
  return only.OutputValue;
}

export interface StartedExecution {
  readonly executionArn: string;
  readonly executionName: string;
  readonly startDate?: Date;
  readonly input: ExecutionInput;
  readonly consoleUrl: string;
}

export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(":")[3] ?? "us-east-1";
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

export async function startDeployedExecution(
  clients: Pick<CloudClients, "sfn">,
  stateMachineArn: string,
  rawInput: unknown,
  options: { readonly name?: string; readonly now?: Date } = {},
): Promise<StartedExecution> {
  const input = parseExecutionInput({ trigger: "cli", ...(rawInput as object) });
  const stamp = (options.now ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  const executionName = options.name ?? `pms-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
  const answer = await clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) }),
  );
  if (!answer.executionArn) throw new Error("StartExecution answered without an executionArn");
  return {
    executionArn: answer.executionArn,
    executionName,
    startDate: answer.startDate,
    input,
    consoleUrl: executionConsoleUrl(answer.executionArn),
  };
}

export interface TrainingJobStatus {
  readonly jobId: string;
  readonly jobName?: string;
  readonly status?: string;
  readonly statusReason?: string;
  readonly attempts: number;
  readonly logGroup: string;
  readonly logStreamName?: string;
  readonly exitCode?: number;
}

export interface DeployedExecutionStatus {
  readonly executionArn: string;
  readonly status: string;
  readonly startDate?: Date;
  readonly stopDate?: Date;
  /** The state running now, or the last one entered when the execution has ended. */
  readonly currentState?: string;
  readonly failedState?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly trainingJob?: TrainingJobStatus;
  readonly consoleUrl: string;
}

/** An execution name is turned into its ARN with the state machine's ARN (same region, account, machine). */
export function executionArnFor(execution: string, stateMachineArn?: string): string {
  if (execution.startsWith("arn:")) return execution;
  if (!stateMachineArn)
    throw new StateMachineNotFoundError(
      `"${execution}" is an execution name: pass its full ARN, or --state-machine-arn / --stack-name so the ARN can be built.`,
    );
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${execution}`;
}

async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken, includeExecutionData: true }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

/** The Batch job id from the `submitJob.sync` task's TaskSubmitted event (its output is the SubmitJob answer). */
function trainingJobId(events: readonly HistoryEvent[]): string | undefined {
  for (const event of [...events].reverse()) {
    const details = event.taskSubmittedEventDetails;
    if (details?.resourceType !== "batch" || !details.output) continue;
    try {
      const output = JSON.parse(details.output) as { JobId?: string; jobId?: string };
      const id = output.JobId ?? output.jobId;
      if (id) return id;
    } catch {
      // A submitted event without JSON output carries no job id; look at an earlier one.
    }
  }
  return undefined;
}

function describeTrainingJob(job: JobDetail): TrainingJobStatus {
  const container = job.container;
  const logGroup = container?.logConfiguration?.options?.["awslogs-group"] ?? "/aws/batch/job";
  return {
    jobId: job.jobId ?? "",
    jobName: job.jobName,
    status: job.status,
    statusReason: job.statusReason,
    attempts: job.attempts?.length ?? 0,
    logGroup,
    logStreamName: container?.logStreamName,
    exitCode: container?.exitCode,
  };
}

export async function deployedExecutionStatus(
  clients: Pick<CloudClients, "sfn" | "batch">,
  executionArn: string,
): Promise<DeployedExecutionStatus> {
  const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
  const events = await executionHistory(clients.sfn, executionArn);

  const open = new Map<string, number>();
  let lastEntered: string | undefined;
  let failedState: string | undefined;
  for (const event of events) {
    const entered = event.stateEnteredEventDetails?.name;
    if (entered) {
      open.set(entered, event.id ?? 0);
      lastEntered = entered;
    }
    const exited = event.stateExitedEventDetails?.name;
    if (exited) open.delete(exited);
    // The Task that failed is the stage to look at; the Fail state after it only names the outcome.
    if (event.type === "TaskFailed" || event.type === "LambdaFunctionFailed" || event.type === "TaskTimedOut")
      failedState = lastEntered;
  }
  const running = [...open.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const failure = events.find((event) => event.executionFailedEventDetails)?.executionFailedEventDetails;

  const jobId = trainingJobId(events);
  let trainingJob: TrainingJobStatus | undefined;
  if (jobId) {
    const jobs = await clients.batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
    const job = jobs.jobs?.[0];
    trainingJob = job ? describeTrainingJob(job) : { jobId, attempts: 0, logGroup: "/aws/batch/job" };
  }

  return {
    executionArn,
    status: execution.status ?? "UNKNOWN",
    startDate: execution.startDate,
    stopDate: execution.stopDate,
    currentState: running ?? lastEntered,
    failedState: execution.status === "FAILED" ? (failedState ?? lastEntered) : undefined,
    error: execution.error ?? failure?.error,
    cause: execution.cause ?? failure?.cause,
    trainingJob,
    consoleUrl: executionConsoleUrl(executionArn),
  };
}

export function formatDeployedStatus(status: DeployedExecutionStatus): string {
  const lines = [`execution  ${status.executionArn}`, `status     ${status.status}`];
  if (status.startDate) lines.push(`started    ${status.startDate.toISOString()}`);
  if (status.stopDate) lines.push(`stopped    ${status.stopDate.toISOString()}`);
  if (status.currentState)
    lines.push(`${status.status === "RUNNING" ? "stage     " : "last stage"} ${status.currentState}`);
  if (status.failedState) lines.push(`failed in  ${status.failedState}`);
  if (status.error) lines.push(`error      ${status.error}`);
  if (status.cause) lines.push(`cause      ${status.cause}`);
  const job = status.trainingJob;
  if (job) {
    lines.push(
      `training   Batch job ${job.jobId}${job.jobName ? ` (${job.jobName})` : ""}: ${job.status ?? "unknown"}`,
    );
    if (job.statusReason) lines.push(`           ${job.statusReason}`);
    if (job.exitCode !== undefined) lines.push(`           exit code ${job.exitCode}, ${job.attempts} attempt(s)`);
    if (job.logStreamName)
      lines.push(`           logs: aws logs tail ${job.logGroup} --log-stream-names ${job.logStreamName} --follow`);
  }
  lines.push(`console    ${status.consoleUrl}`);
  return lines.join("\n");
}
