import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * The local twin's state folder. Everything a local run reads or writes lives under it, so two
 * folders are two independent twins (the end-to-end tests give every test its own).
 */
export interface PmsHome {
  readonly root: string;
  /** The DuckDB file holding the raw events and the dbt models. */
  readonly warehouse: string;
  /** Artifact root handed to PrepareRun: runs land in `<root>/runs/<runId>/`. */
  readonly artifactRoot: string;
  readonly runs: string;
  readonly logs: string;
  /** Cache of the synthesized state machine definition, keyed by a hash of the sources. */
  readonly cache: string;
}

export const DEFAULT_PMS_HOME = ".pms";
/** The local endpoint's public port unless `--port` says otherwise (SageMaker's container port). */
export const DEFAULT_ENDPOINT_PORT = 8080;

export function resolvePmsHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): PmsHome {
  const root = resolve(cwd, env.PMS_HOME && env.PMS_HOME !== "" ? env.PMS_HOME : DEFAULT_PMS_HOME);
  return pmsHomeAt(root);
}

export function pmsHomeAt(root: string): PmsHome {
  const absolute = resolve(root);
  return {
    root: absolute,
    warehouse: join(absolute, "warehouse.duckdb"),
    artifactRoot: absolute,
    runs: join(absolute, "runs"),
    logs: join(absolute, "logs"),
    cache: join(absolute, "cache"),
  };
}

export async function ensurePmsHome(home: PmsHome): Promise<void> {
  await Promise.all([home.runs, home.logs, home.cache].map((folder) => mkdir(folder, { recursive: true })));
}

/**
 * What a run id may look like: PrepareRun's ids (`20261126T143000-local-1a2b3c-4d5e6f`) and nothing
 * with a path separator or a leading dot, so an id from the command line can only name a folder
 * directly under `$PMS_HOME/runs`.
 */
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export class InvalidRunIdError extends Error {
  override readonly name = "InvalidRunId";
  constructor(readonly runId: string) {
    super(
      `"${runId}" is not a run id: run ids are letters, digits, ".", "_" and "-" (no "/"), as \`pms runs\` lists them.`,
    );
  }
}

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}

/** A run's own folder; `runArtifactUris(home.artifactRoot, runId).run` points at the same place. */
export function runFolder(home: PmsHome, runId: string): string {
  if (!isRunId(runId)) throw new InvalidRunIdError(runId);
  return join(home.runs, runId);
}

export function runRecordPath(home: PmsHome, runId: string): string {
  return join(runFolder(home, runId), "run.json");
}
