import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { GateCheckResult } from "../core/pipeline/contracts.ts";
import { isRunId, type PmsHome, runRecordPath } from "./home.ts";
import { isAlive } from "./processes.ts";

export type LocalRunStatus = "running" | "succeeded" | "failed" | "aborted";

export interface StageTiming {
  readonly state: string;
  readonly type: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly outcome: "succeeded" | "failed" | "aborted";
}

/** What `pms runs` lists and `pms serve` / `pms report` look up: one JSON file per local run. */
export interface LocalRunRecord {
  readonly runId: string;
  readonly executionName: string;
  readonly status: LocalRunStatus;
  /** The process running it: a `running` record whose process is gone was stopped without a word (SIGKILL, power). */
  readonly pid?: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly seconds?: number;
  readonly input: unknown;
  readonly stages: readonly StageTiming[];
  readonly window?: { readonly start: string; readonly end: string };
  readonly gate?: {
    readonly passed: boolean;
    readonly checks: readonly GateCheckResult[];
    readonly reasons: readonly string[];
  };
  /** Headline metrics from the evaluation (hr@20, mrr@20, ...). */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly modelUri?: string;
  readonly reportUri?: string;
  readonly deployed?: boolean;
  readonly endpointUrl?: string;
  /** The run whose model the endpoint served when this run ended (from endpoint.json). */
  readonly servingRunId?: string;
  readonly error?: { readonly name: string; readonly cause: string; readonly state?: string };
  /** dbt's per-model and per-test results of the run's transform. */
  readonly dbt?: readonly {
    readonly kind: "model" | "test";
    readonly name: string;
    readonly status: string;
    readonly seconds: number;
    readonly rows?: number;
    readonly message?: string;
  }[];
  readonly logPath?: string;
}

/** Written to a temporary sibling and renamed, so `pms runs` never reads half a record. */
export async function writeRunRecord(home: PmsHome, record: LocalRunRecord): Promise<string> {
  const path = runRecordPath(home, record.runId);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.partial`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temporary, path);
  return path;
}

/** A record left `running` by a process that no longer exists is an aborted run, whatever killed it. */
export function settleOrphanedRun(record: LocalRunRecord, alive: (pid: number) => boolean = isAlive): LocalRunRecord {
  if (record.status !== "running" || record.pid === undefined || alive(record.pid)) return record;
  return {
    ...record,
    status: "aborted",
    error: {
      name: "Aborted",
      cause: `The process running it (pid ${record.pid}) ended before the run finished (killed, or the machine stopped).`,
      state: record.stages.at(-1)?.state,
    },
  };
}

export async function readRunRecord(home: PmsHome, runId: string): Promise<LocalRunRecord | undefined> {
  try {
    return settleOrphanedRun(JSON.parse(await readFile(runRecordPath(home, runId), "utf8")) as LocalRunRecord);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Every local run, newest first. */
export async function listRunRecords(home: PmsHome): Promise<LocalRunRecord[]> {
  let folders: string[];
  try {
    folders = await readdir(home.runs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  // Anything else under runs/ (a file a user dropped there) is not a run.
  const records = await Promise.all(folders.filter(isRunId).map((runId) => readRunRecord(home, runId)));
  return records
    .filter((record): record is LocalRunRecord => record !== undefined)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

export class RunNotFoundError extends Error {
  override readonly name = "RunNotFound";
  constructor(
    readonly runId: string,
    home: PmsHome,
  ) {
    super(`No local run "${runId}" under ${home.runs}: \`pms runs\` lists the runs there.`);
  }
}

/** The newest run that ended with a deployed or deployable model, for `pms serve` without `--run`. */
export async function latestSuccessfulRun(home: PmsHome): Promise<LocalRunRecord | undefined> {
  return (await listRunRecords(home)).find((record) => record.status === "succeeded" && record.modelUri);
}
