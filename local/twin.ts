import { randomBytes } from "node:crypto";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { metricsFromMetricsJson } from "../core/evaluation/champion.ts";
import type { EvaluationResult, PipelineState } from "../core/pipeline/contracts.ts";
import { checkExecutionInputEnvelope, InvalidExecutionInputError } from "../core/pipeline/execution-input.ts";
import { runIdFor } from "../core/pipeline/resolve-run-context.ts";
import type { RunContext } from "../core/pipeline/run-context.ts";
import type { ArtifactStore } from "../core/ports/artifact-store.ts";
import { RETRYING_STATES, WAIT_STATES } from "../lib/pipeline/tasks.ts";
import type { AslDefinition } from "./asl.ts";
import type { NodeResult } from "./dbt/runner.ts";
import { executeLocally, localExecutionArn } from "./execution.ts";
import { ensurePmsHome, type PmsHome } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";
import { acquireRunLock } from "./run-lock.ts";
import { type LocalRunRecord, writeRunRecord } from "./run-record.ts";
import { createStateProgress } from "./stages.ts";
import { type LocalHandlers, type LocalTrainingJob, taskOverrides } from "./task-overrides.ts";

/** What a local execution runs on; `createLocalTwin` builds the real set, tests wrap pieces of it to inject faults. */
export interface LocalTwin {
  readonly home: PmsHome;
  readonly store: ArtifactStore;
  readonly handlers: LocalHandlers;
  readonly train: (job: Parameters<LocalTrainingJob>[0], context: TrainingContext) => Promise<void>;
  /** The per-node results of the latest dbt run, once one has finished. */
  readonly dbtResults?: () => readonly NodeResult[] | undefined;
  /** The URL the local endpoint answers on, when one is serving. */
  readonly endpointUrl: () => Promise<string | undefined>;
  /** Sends the adapters' own log lines (dbt's, the endpoint's) to the current run's log. */
  logTo(write: (line: string) => void): void;
  /** The run whose model the endpoint serves now, as endpoint.json says (what answers on the port). */
  readonly servingRunId?: () => Promise<string | undefined>;
  /**
   * After a run stopped part-way: puts back what the endpoint served before it (a model that was
   * not smoke-tested never stays serving) and rejects its registered version. Returns what it did.
   */
  readonly undoAbortedRun?: (runId: string) => Promise<readonly string[]>;
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
}

const STATE_MACHINE_NAME = "pms-pipeline";

/**
 * `pms run`: one execution of the deployed state machine definition on this machine. Every run
 * gets its own execution name, run id and folder, so runs never touch each other's artifacts.
 */
export async function runLocalPipeline(options: LocalRunOptions): Promise<LocalRunRecord> {
  const { twin } = options;
  const home = twin.home;
  await ensurePmsHome(home);
  const executionName = `local-${randomBytes(3).toString("hex")}`;
  // One run (or load) per $PMS_HOME: DuckDB lets one process write the warehouse.
  const releaseLock = await acquireRunLock(home, `run ${executionName}`);
  try {
    return await runHoldingLock(options, executionName);
  } finally {
    await releaseLock();
  }
}

async function runHoldingLock(options: LocalRunOptions, executionName: string): Promise<LocalRunRecord> {
  const { twin, reporter } = options;
  const home = twin.home;
  const started = new Date();
  const logPath = join(home.logs, `${executionName}.log`);
  await mkdir(dirname(logPath), { recursive: true });
  const log = (line: string) => appendFile(logPath, `${new Date().toISOString()} ${line}\n`).catch(() => undefined);

  // Too big or too deep an input never reaches the engine (it would recurse into it) nor the record
  // (a 50 MB input copied into run.json): the run fails as StartExecution refuses it in the cloud.
  let refused: InvalidExecutionInputError | undefined;
  try {
    checkExecutionInputEnvelope(options.input);
  } catch (error) {
    if (!(error instanceof InvalidExecutionInputError)) throw error;
    refused = error;
  }
  // The run id is PrepareRun's to decide (from the execution's name, ARN and start time). Until it
  // has, the record carries the id the same rule gives for this process's start time.
  let record: LocalRunRecord = {
    runId: runIdFor({
      name: executionName,
      id: localExecutionArn(STATE_MACHINE_NAME, executionName),
      startTime: started.toISOString(),
    }),
    executionName,
    status: "running",
    pid: process.pid,
    startedAt: started.toISOString(),
    input: refused ? { refused: refused.problems } : options.input,
    stages: [],
    logPath,
  };
  if (refused) {
    record = {
      ...record,
      status: "failed",
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - started.getTime()) / 1000,
      error: { name: refused.name, cause: refused.problems, state: "StartExecution" },
    };
    await writeRunRecord(home, record);
    await log(`run failed: ${refused.name}: ${refused.problems}`);
    return record;
  }

  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const progress = createStateProgress(reporter);
  twin.logTo((line) => void log(line));
  // An aborted execution returns at once, but the Task it was in keeps going (a deployment keeps
  // starting its process): every Task's work is waited for before the run is settled and recorded,
  // so nothing of this run still runs when the record says it is over.
  const inFlight: Promise<unknown>[] = [];
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.push(work.catch(() => undefined));
    return work;
  };
  const tracked = Object.fromEntries(
    Object.entries(twin.handlers).map(([key, handler]) => [key, (event: unknown) => track(handler(event))]),
  ) as LocalHandlers;
  const prepareRun = tracked.prepareRun;
  const handlers: LocalHandlers = {
    ...tracked,
    ...(prepareRun && {
      prepareRun: async (event: unknown) => {
        const run = (await prepareRun(event)) as RunContext;
        record = { ...record, runId: run.runId, window: run.window, modelUri: run.uris.model };
        await writeRunRecord(home, record);
        reporter.line(`Run ${run.runId}: window ${run.window.start}..${run.window.end}, artifacts in ${run.uris.run}`);
        return run;
      },
    }),
  };

  const waitMilliseconds = options.waitMilliseconds ?? 200;
  try {
    const outcome = await executeLocally({
      definition: options.definition as never,
      input: options.input as never,
      executionName,
      stateMachineName: STATE_MACHINE_NAME,
      taskOverrides: taskOverrides(handlers, (job) => {
        return track(
          twin.train(job, { logPath, signal: controller.signal, reporter }).catch(async (error) => {
            await log(`training: ${error instanceof Error ? error.message : String(error)}`);
            throw error;
          }),
        );
      }),
      waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((state) => [state, waitMilliseconds])),
      // Retries keep their attempts; only the back-off shrinks.
      retryIntervalOverrides: Object.fromEntries(RETRYING_STATES.map((state) => [state, 10])),
      onStateEvent: (event) => {
        if (event.kind !== "entered")
          void log(
            `${event.kind}: ${event.state}${"seconds" in event ? ` (${event.seconds.toFixed(2)} s)` : ""}${"detail" in event && event.detail ? ` ${event.detail}` : ""}`,
          );
        progress(event);
      },
      signal: controller.signal,
    });
    const state = (outcome.lastState ?? {}) as Partial<PipelineState>;
    if (outcome.status === "aborted") {
      await Promise.allSettled(inFlight);
      for (const line of (await twin.undoAbortedRun?.(record.runId)) ?? []) {
        reporter.line(line);
        await log(line);
      }
    }
    const finished = new Date();
    record = {
      ...record,
      status: outcome.status,
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      stages: outcome.stages,
      ...dbtFields(twin),
      ...(state.evaluation ? await evaluationFields(twin.store, state.evaluation) : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
      deployed: outcome.status === "succeeded" && state.smokeTest?.passed === true,
      endpointUrl: await twin.endpointUrl(),
      servingRunId: await twin.servingRunId?.(),
    };
    await log(`run ${record.status}${record.error ? `: ${record.error.name}: ${record.error.cause}` : ""}`);
    return record;
  } catch (error) {
    const finished = new Date();
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
    await Promise.allSettled(inFlight);
    await writeRunRecord(home, record);
  }
}

/** dbt's model and test results, as `dbt build` reported them. */
function dbtFields(twin: LocalTwin): Pick<LocalRunRecord, "dbt"> {
  const results = twin.dbtResults?.();
  if (!results) return {};
  return {
    dbt: results.map((result) => ({
      kind: result.kind,
      name: result.name,
      status: result.status,
      seconds: Math.round(result.seconds * 1000) / 1000,
      ...(result.rows === null ? {} : { rows: result.rows }),
      ...(result.message ? { message: result.message } : {}),
    })),
  };
}

/** The gate's verdict and HR@20 / MRR@20 (and the other headline figures) from the report's `metrics.json`. */
async function evaluationFields(store: ArtifactStore, evaluation: EvaluationResult): Promise<Partial<LocalRunRecord>> {
  let metrics: Record<string, number> = {};
  try {
    metrics = metricsFromMetricsJson(await store.getText(evaluation.metricsUri));
  } catch {
    // The gate's checks are in the record either way; a missing metrics file only thins `pms runs`.
  }
  return {
    gate: { passed: evaluation.passed, checks: evaluation.checks, reasons: evaluation.reasons },
    reportUri: evaluation.reportUri,
    metrics,
  };
}
