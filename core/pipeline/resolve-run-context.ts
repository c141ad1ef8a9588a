import { createHash } from "node:crypto";
import {
  type ExecutionInput,
  InvalidExecutionInputError,
  type TimeWindow,
  type TrainingParameters,
} from "./execution-input.ts";
import {
  type RunContext,
  type RunDefaults,
  runArtifactUris,
  servedTrainingCommand,
  trainingCommand,
} from "./run-context.ts";

/** The execution PrepareRun resolves a context for (Step Functions' `$$.Execution`). */
export interface ExecutionIdentity {
  readonly name: string;
  /** The execution ARN: unique, so it makes run ids unique even when two names slug alike. */
  readonly id: string;
  /** ISO 8601. */
  readonly startTime: string;
}

const DAY_MS = 86_400_000;
const MAX_SLUG_LENGTH = 40;

/**
 * Fills every default of an already schema-valid execution input and checks what the schema cannot
 * see alone (the window against the holdout, the start time). Throws InvalidExecutionInputError
 * listing every problem, so a bad input fails in "Prepare the run" before any stage spends money.
 */
export function resolveRunContext(
  input: ExecutionInput,
  execution: ExecutionIdentity,
  defaults: RunDefaults,
): RunContext {
  const problems: string[] = [];
  const started = new Date(execution.startTime);
  if (Number.isNaN(started.getTime()))
    throw new InvalidExecutionInputError(
      `execution.startTime: "${execution.startTime}" is not an ISO 8601 time (the state machine passes $$.Execution.StartTime)`,
    );

  const holdoutDays = input.holdoutDays ?? defaults.holdoutDays;
  const window = input.window ?? nightlyWindow(started, defaults.lookbackDays);
  const windowDays = daysIn(window);
  // The extract puts the last `holdoutDays` in test and samples validation from the days before:
  // a window that leaves no day for training would only fail later, after the dbt run.
  if (windowDays <= holdoutDays)
    problems.push(
      `window: ${window.start}..${window.end} has ${windowDays} day(s), but holdoutDays ${holdoutDays} needs more than ` +
        `${holdoutDays} (test takes the last ${holdoutDays}; train and validation need the days before): widen the window or lower holdoutDays`,
    );
  const startDay = utcDay(started);
  if (window.end > startDay)
    problems.push(`window.end: ${window.end} is after the execution's start day ${startDay}: no events exist yet`);
  if (problems.length > 0) throw new InvalidExecutionInputError(problems.join("\n"));

  const runId = runIdFor(execution);
  const uris = runArtifactUris(defaults.artifactRoot, runId);
  const training = mergeTraining(defaults.training, input.training);
  return {
    runId,
    shortId: shortIdFor(execution),
    executionName: execution.name,
    trigger: input.trigger ?? "console",
    startedAt: started.toISOString(),
    window,
    tenant: input.tenant ?? defaults.tenant,
    holdoutDays,
    minSessions: defaults.minSessions,
    training,
    gate: input.gate ?? defaults.gate,
    deploy: input.deploy ?? defaults.deploy,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    uris,
    trainingCommand: trainingCommand(runId, uris, training),
    servedTrainingCommand: servedTrainingCommand(runId, uris, training),
  };
}

/** The `lookbackDays` whole UTC days before the execution's start day: a nightly run needs no input. */
export function nightlyWindow(startedAt: Date, lookbackDays: number): TimeWindow {
  const startOfDay = Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth(), startedAt.getUTCDate());
  return {
    start: utcDay(new Date(startOfDay - lookbackDays * DAY_MS)),
    end: utcDay(new Date(startOfDay - DAY_MS)),
  };
}

/**
 * `<yyyymmddThhmmss>-<execution name slug>-<6 hex of the execution ARN>`: sorts by start time, reads
 * as the execution it came from, and stays unique when names differ only in characters the slug drops.
 */
export function runIdFor(execution: ExecutionIdentity): string {
  const stamp = compactStamp(new Date(execution.startTime));
  const slug = slugOf(execution.name);
  return [stamp, slug, arnHash(execution.id)].filter((part) => part !== "").join("-");
}

/** `yymmdd-hhmmss-<6 hex>`: 20 characters, `[a-z0-9-]`, for SageMaker and Batch resource names. */
export function shortIdFor(execution: ExecutionIdentity): string {
  const stamp = compactStamp(new Date(execution.startTime));
  return `${stamp.slice(2, 8)}-${stamp.slice(9, 15)}-${arnHash(execution.id)}`;
}

function mergeTraining(defaults: TrainingParameters, overrides: ExecutionInput["training"]): TrainingParameters {
  const given = Object.fromEntries(Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined));
  return { ...defaults, ...given };
}

function daysIn(window: TimeWindow): number {
  return Math.round((Date.parse(`${window.end}T00:00:00Z`) - Date.parse(`${window.start}T00:00:00Z`)) / DAY_MS) + 1;
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function compactStamp(date: Date): string {
  // 2026-11-26T02:00:00.123Z → 20261126T020000
  return date.toISOString().slice(0, 19).replace(/[-:]/g, "");
}

function slugOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/^-+|-+$/g, "");
}

function arnHash(executionArn: string): string {
  return createHash("sha256").update(executionArn).digest("hex").slice(0, 6);
}
