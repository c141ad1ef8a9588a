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

/** A run's own folder; `runArtifactUris(home.artifactRoot, runId).run` points at the same place. */
export function runFolder(home: PmsHome, runId: string): string {
  return join(home.runs, runId);
}

export function runRecordPath(home: PmsHome, runId: string): string {
  return join(runFolder(home, runId), "run.json");
}
