import { randomBytes } from "node:crypto";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { EvaluationResult, PipelineState } from "../core/pipeline/contracts.ts";
import { runIdFor } from "../core/pipeline/resolve-run-context.ts";
import type { RunContext } from "../core/pipeline/run-context.ts";
import type { ArtifactStore } from "../core/ports/artifact-store.ts";
import { RETRYING_STATES, WAIT_STATES } from "../lib/pipeline/tasks.ts";
import type { AslDefinition } from "./asl.ts";
import { executeLocally, localExecutionArn } from "./execution.ts";
import { ensurePmsHome, type PmsHome, runLogPath } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";
import { type LocalRunRecord, writeRunRecord } from "./run-record.ts";
import { type LocalHandlers, type LocalTrainingJob, taskOverrides } from "./task-overrides.ts";

/** What a local execution runs on; `createLocalTwin` builds the real set, tests wrap pieces of it to inject faults. */
export interface LocalTwin {
  readonly home: PmsHome;
  readonly store: ArtifactStore;
  readonly handlers: LocalHandlers;
  readonly train: (job: Parameters<LocalTrainingJob>[0], context: TrainingContext) => Promise<void>;
  /** The URL the local endpoint answers on, when one is serving. */
  readonly endpointUrl: () => Promise<string | undefined>;
  /** A real session from the run's test split, for the summary's `curl` line. */
  readonly exampleSession: (record: LocalRunRecord) => Promise<string[] | undefined>;
  close(): Promise<void>;
}

export interface TrainingContext {
  readonly logPath: string;
  readonly signal: AbortSignal;
  readonly reporter: ProgressReporter;
}

export interface LocalRunOptions {
  readonly twin: LocalTwin;
  readonly definition: AslDefinition;
  /** The raw execution input; PrepareRun validates it exactly as in the cloud. */
  readonly input: unknown;
  readonly reporter: ProgressReporter;
  readonly signal?: AbortSignal;
  /**
   * How long each Wait state pauses locally. The cloud waits a poll interval; the local runners
   * finish in seconds, so a short pause keeps the same poll loop without the wait.
   * @default 200
   */
  readonly waitMilliseconds?: number;
  readonly now?: () => Date;
}

function newExecutionName(): string {
  return `local-${randomBytes(3).toString("hex")}`;
}

const STATE_MACHINE_NAME = "pms-pipeline";

/**
 * `pms run`: one execution of the deployed state machine definition on this machine. Every run
 * gets its own execution name, run id and folder, so runs never touch each other's artifacts.
 */
export async function runLocalPipeline(options: LocalRunOptions): Promise<LocalRunRecord> {
  const { twin, reporter } = options;
  const home = twin.home;
  await ensurePmsHome(home);
  const now = options.now ?? (() => new Date());
  const executionName = newExecutionName();
  const started = now();
  const runId = runIdFor({
    name: executionName,
    id: localExecutionArn(STATE_MACHINE_NAME, executionName),
    startTime: started.toISOString(),
  });
  const logPath = runLogPath(home, runId);
  await mkdir(dirname(logPath), { recursive: true });
  const log = (line: string) => appendFile(logPath, `${new Date().toISOString()} ${line}\n`).catch(() => undefined);

  let record: LocalRunRecord = {
    runId,
    executionName,
    status: "running",
    startedAt: started.toISOString(),
    input: options.input,
    stages: [],
    logPath,
  };
  await writeRunRecord(home, record);
  reporter.line(`Run ${runId} (PMS_HOME ${home.root})`);

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const loggingReporter: ProgressReporter = {
    ...reporter,
    stateStarted(state, type) {
      void log(`state started: ${state}`);
      reporter.stateStarted(state, type);
    },
    stateEnded(state, seconds, outcome, detail) {
      void log(`state ${outcome}: ${state} (${seconds.toFixed(2)} s)${detail ? ` ${detail}` : ""}`);
      reporter.stateEnded(state, seconds, outcome, detail);
    },
  };

  const waitMilliseconds = options.waitMilliseconds ?? 200;
  try {
    const outcome = await executeLocally({
      definition: options.definition as never,
      input: options.input as never,
      executionName,
      stateMachineName: STATE_MACHINE_NAME,
      taskOverrides: taskOverrides(twin.handlers, (job) =>
        twin.train(job, { logPath, signal: controller.signal, reporter: loggingReporter }),
      ),
      waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((state) => [state, waitMilliseconds])),
      // Retries keep their attempts; only the back-off shrinks.
      retryIntervalOverrides: Object.fromEntries(RETRYING_STATES.map((state) => [state, 10])),
      reporter: loggingReporter,
      signal: controller.signal,
      now: () => started,
    });
    const state = (outcome.lastState ?? {}) as Partial<PipelineState> & { run?: RunContext };
    const finished = now();
    record = {
      ...record,
      status: outcome.status,
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      stages: outcome.stages,
      ...(state.run ? { window: state.run.window, modelUri: state.run.uris.model } : {}),
      ...(state.evaluation ? evaluationFields(state.evaluation) : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    if (state.evaluation) record = { ...record, metrics: await headlineMetrics(twin.store, state.evaluation) };
    record = {
      ...record,
      deployed: outcome.status === "succeeded" && state.smokeTest?.passed === true,
      endpointUrl: await twin.endpointUrl(),
    };
    await log(`run ${record.status}${record.error ? `: ${record.error.name}: ${record.error.cause}` : ""}`);
    return record;
  } catch (error) {
    const finished = now();
    record = {
      ...record,
      status: "failed",
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      error: {
        name: error instanceof Error ? error.name : "Error",
        cause: error instanceof Error ? error.message : String(error),
      },
    };
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await writeRunRecord(home, record);
  }
}

function evaluationFields(evaluation: EvaluationResult): Partial<LocalRunRecord> {
  return {
    gate: { passed: evaluation.passed, checks: evaluation.checks, reasons: evaluation.reasons },
    reportUri: evaluation.reportUri,
  };
}

/** HR@20 / MRR@20 (and whatever else is headline) for `pms runs`, from the report's `metrics.json`. */
async function headlineMetrics(store: ArtifactStore, evaluation: EvaluationResult): Promise<Record<string, number>> {
  try {
    const metrics = JSON.parse(await store.getText(evaluation.metricsUri)) as unknown;
    return pickHeadlineMetrics(metrics);
  } catch {
    // The gate's checks are in the record either way; a missing metrics file only thins `pms runs`.
    return Object.fromEntries(evaluation.checks.map((check) => [check.name.split(/\s/)[0] ?? check.name, check.value]));
  }
}

const HEADLINE = ["hr@20", "mrr@20", "ndcg@20", "hr@10", "mrr@10", "coverage@20"];

/** Finds the model's headline figures in `metrics.json`, wherever the report nests them. */
export function pickHeadlineMetrics(metrics: unknown): Record<string, number> {
  const found: Record<string, number> = {};
  const visit = (value: unknown, depth: number) => {
    if (depth > 3 || value === null || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      const name = key.toLowerCase();
      if (typeof inner === "number" && HEADLINE.includes(name) && found[name] === undefined) found[name] = inner;
    }
    const object = value as Record<string, unknown>;
    for (const key of ["model", "challenger", "metrics", "overall"]) if (key in object) visit(object[key], depth + 1);
  };
  visit(metrics, 0);
  return found;
}
