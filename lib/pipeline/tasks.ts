import { STATE_KEYS } from "../../core/pipeline/contracts.ts";
import type { PipelineFunctions } from "./pipeline-functions.ts";
import { STATE_NAMES } from "./state-names.ts";

/**
 * The table the local twin needs to run the synthesized definition with aws-local-stepfunctions:
 * which handler each Task state calls, what it is given, and what its integration returns, so that
 * `overrides.taskResourceLocalHandlers[stateName] = (input) => spec.wrapLocalResult(await handler(input))`
 * behaves exactly like the cloud.
 */

/** Where a Catch (and a Describe… Pass) puts `{Error, Cause}`; every Fail state reads `$.error.Cause`. */
export const ERROR_RESULT_PATH = "$.error";

/**
 * Errors worth another attempt: the Lambda service's own transient failures, and `TransientError`,
 * the name a handler gives an error when a retry may succeed (throttling, a 5xx from a vendor API).
 */
export const LAMBDA_TRANSIENT_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "Lambda.ClientExecutionTimeoutException",
  "TransientError",
] as const;

/** SubmitJob's transient failures. A job that ran and failed is not retried here: the job definition's retry strategy owns that. */
export const BATCH_TRANSIENT_ERRORS = [
  "Batch.ServerException",
  "Batch.AWSBatchException",
  "Batch.TooManyRequestsException",
] as const;

type StateKey = (typeof STATE_KEYS)[keyof typeof STATE_KEYS];

export interface LambdaTaskSpec {
  readonly stateName: string;
  /** The function (and so the `lambdas/<name>` handler) the state invokes. */
  readonly functionKey: keyof PipelineFunctions;
  /** What the handler receives: the whole execution state, or a `PrepareRunEvent` (core/pipeline/prepare-run-event.ts). */
  readonly payload: "state" | "prepareRunEvent";
  /** Errors that mean "busy, try again in a minute": retried with a slow back-off after the transient ones. */
  readonly busyErrors: readonly string[];
  /** The function timing out is worth another attempt: an idempotent check whose warehouse call was slow. */
  readonly retriesTimeouts: boolean;
  /**
   * A polling check: its payload carries `execution.redriveCount` (`$$.Execution.RedriveCount`) beside
   * these state keys, so a redriven execution restarts the loop's deadline (core/pipeline/poll-budget.ts).
   */
  readonly redriveAwareKeys: readonly StateKey[] | null;
  /** Where the result lands (`$.<key>`); `null` when the state discards it. "Prepare the run" replaces the state with `{run}`. */
  readonly resultKey: StateKey | null;
  /**
   * What the Task's integration returns for a handler result. The Tasks invoke the function's ARN
   * directly (not `arn:aws:states:::lambda:invoke`), so the result is the handler's return value as is —
   * that is what lets it land at `$.<key>` without a `{Payload}` envelope.
   */
  readonly wrapLocalResult: (handlerResult: unknown) => unknown;
}

const asIs = (handlerResult: unknown): unknown => handlerResult;

function task(
  stateName: string,
  functionKey: keyof PipelineFunctions,
  resultKey: StateKey | null,
  options: {
    payload?: LambdaTaskSpec["payload"];
    busyErrors?: readonly string[];
    retriesTimeouts?: boolean;
    redriveAwareKeys?: readonly StateKey[];
  } = {},
): LambdaTaskSpec {
  return {
    stateName,
    functionKey,
    payload: options.payload ?? "state",
    busyErrors: options.busyErrors ?? [],
    retriesTimeouts: options.retriesTimeouts ?? false,
    redriveAwareKeys: options.redriveAwareKeys ?? null,
    resultKey,
    wrapLocalResult: asIs,
  };
}

/**
 * How Step Functions names a Lambda function that ran out of time: `Sandbox.Timedout`, or
 * `Lambda.Unknown` on older runtimes ("Handle Lambda service exceptions",
 * docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
 */
export const LAMBDA_TIMEOUT_ERRORS = ["Sandbox.Timedout", "Lambda.Unknown"] as const;

/** Thrown by the deployment handlers while the endpoint is creating, updating or being deleted (core/deploy/errors.ts). */
export const ENDPOINT_BUSY_ERRORS = ["EndpointBusy"] as const;

export const LAMBDA_TASKS = {
  prepareRun: task(STATE_NAMES.prepareRun, "prepareRun", STATE_KEYS.run, { payload: "prepareRunEvent" }),
  startDbtRun: task(STATE_NAMES.startDbtRun, "startDbtRun", STATE_KEYS.transform),
  checkDbtRun: task(STATE_NAMES.checkDbtRun, "checkDbtRun", STATE_KEYS.transform, {
    redriveAwareKeys: [STATE_KEYS.run, STATE_KEYS.transform],
  }),
  cancelDbtRun: task(STATE_NAMES.cancelDbtRun, "cancelDbtRun", null),
  startExtract: task(STATE_NAMES.startExtract, "startExtract", STATE_KEYS.extract),
  checkExtract: task(STATE_NAMES.checkExtract, "checkExtract", STATE_KEYS.extract, {
    retriesTimeouts: true,
    redriveAwareKeys: [STATE_KEYS.run, STATE_KEYS.extract],
  }),
  evaluate: task(STATE_NAMES.evaluate, "evaluate", STATE_KEYS.evaluation),
  checkServedModel: task(STATE_NAMES.checkServedModel, "checkServedModel", STATE_KEYS.servedModelCheck),
  registerModel: task(STATE_NAMES.registerModel, "registerModel", STATE_KEYS.registration),
  startDeployment: task(STATE_NAMES.startDeployment, "startDeployment", STATE_KEYS.deployment, {
    busyErrors: ENDPOINT_BUSY_ERRORS,
  }),
  checkDeployment: task(STATE_NAMES.checkEndpoint, "checkDeployment", STATE_KEYS.deployment, {
    redriveAwareKeys: [STATE_KEYS.run, STATE_KEYS.deployment],
  }),
  smokeTest: task(STATE_NAMES.smokeTest, "smokeTest", STATE_KEYS.smokeTest),
  rollBackDeployment: task(STATE_NAMES.rollBackEndpoint, "rollBackDeployment", null, {
    busyErrors: ENDPOINT_BUSY_ERRORS,
  }),
  cleanUpDeployments: task(STATE_NAMES.cleanUpDeployments, "cleanUpDeployments", STATE_KEYS.cleanup, {
    busyErrors: ENDPOINT_BUSY_ERRORS,
  }),
} as const satisfies Record<keyof PipelineFunctions, LambdaTaskSpec>;

/**
 * The Batch `submitJob.sync` states, one per model, the branches of the Parallel state
 * `STATE_NAMES.train`; an override receives `{JobName, JobQueue, JobDefinition, ContainerOverrides: {Command}}`.
 */
export const TRAIN_STATES = { evaluated: STATE_NAMES.trainEvaluated, served: STATE_NAMES.trainServed } as const;
export type TrainedModel = keyof typeof TRAIN_STATES;

/** The fields of a Batch job as Step Functions returns it from `submitJob.sync` (DescribeJobs' job, PascalCase). */
export interface BatchJobResult {
  readonly JobId: string;
  readonly JobName: string;
  readonly Status: "SUCCEEDED" | "FAILED";
  readonly StatusReason?: string;
}

/** What a local override of the training state returns for a finished job; the ResultSelector reads `JobId` and `Status` into `$.train`. */
export function batchJobLocalResult(job: { jobId: string; jobName: string; statusReason?: string }): BatchJobResult {
  return {
    JobId: job.jobId,
    JobName: job.jobName,
    Status: "SUCCEEDED",
    ...(job.statusReason === undefined ? {} : { StatusReason: job.statusReason }),
  };
}

/**
 * What a local override of the training state throws for a job that failed (after its attempts):
 * Step Functions reports `States.TaskFailed` with the job description as the cause, and
 * aws-local-stepfunctions takes the error's name and message as Error and Cause.
 */
export function batchJobLocalFailure(job: { jobId: string; jobName: string; statusReason: string }): Error {
  const error = new Error(
    JSON.stringify({ JobId: job.jobId, JobName: job.jobName, Status: "FAILED", StatusReason: job.statusReason }),
  );
  error.name = "States.TaskFailed";
  return error;
}

/** Every Wait state: the twin overrides their durations (e.g. to a short local poll interval). */
export const WAIT_STATES = [
  STATE_NAMES.waitForDbtRun,
  STATE_NAMES.waitForExtract,
  STATE_NAMES.waitForEndpoint,
] as const;

/** Every state with a Retry field: the twin and the tests override their back-off intervals. */
export const RETRYING_STATES = [
  ...Object.values(LAMBDA_TASKS).map((spec) => spec.stateName),
  ...Object.values(TRAIN_STATES),
] as const;

/**
 * The context object fields the definition reads (`$$.Execution.Name/Id/RedriveCount`); aws-local-stepfunctions
 * only fills in `Input` and `StartTime`, so a local run passes the rest as `options.context`.
 */
export function localExecutionContext(executionName: string): {
  Execution: { Name: string; Id: string; RedriveCount: number };
} {
  return {
    Execution: {
      Name: executionName,
      Id: `arn:aws:states:local:000000000000:execution:pipeline:${executionName}`,
      // A local execution is never redriven.
      RedriveCount: 0,
    },
  };
}
