import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PmsHome } from "./home.ts";
import { isAlive } from "./processes.ts";

/** Who holds `$PMS_HOME/run.lock`. */
export interface RunLockOwner {
  readonly pid: number;
  /** What holds it: `run <runId>`, `data load <file>`. */
  readonly holder: string;
  readonly since: string;
}

/** Another live process holds the warehouse: one run or load at a time per $PMS_HOME. */
export class WarehouseBusyError extends Error {
  override readonly name = "WarehouseBusy";
  constructor(
    readonly owner: RunLockOwner,
    lockPath: string,
  ) {
    super(
      `The warehouse is busy: ${owner.holder} (process ${owner.pid}, since ${owner.since}) holds ${lockPath}. Wait for it to finish, or stop it (Ctrl-C in its terminal, or kill ${owner.pid}); a lock left by a process that died is taken over.`,
    );
  }
}

export function runLockPath(home: PmsHome): string {
  return join(home.root, "run.lock");
}

/**
 * Takes `$PMS_HOME/run.lock` for this process, or throws WarehouseBusy naming the run or load that
 * holds it. DuckDB lets one process write a file; without this a second `pms run` would fail deep
 * in dbt with "Could not set lock". The file holds the owner's pid, so a lock left by a killed
 * process is taken over. Returns the release.
 */
export async function acquireRunLock(home: PmsHome, holder: string): Promise<() => Promise<void>> {
  const path = runLockPath(home);
  const mine: RunLockOwner = { pid: process.pid, holder, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(mine)}\n`, { flag: "wx" });
      return async () => {
        const current = await readOwner(path);
        if (current?.pid === process.pid) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await readOwner(path);
    if (owner && (owner.pid === process.pid || isAlive(owner.pid))) throw new WarehouseBusyError(owner, path);
    // Unreadable and brand new: another process is between creating and writing it.
    if (!owner && (await ageMs(path)) < 1000) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      continue;
    }
    // The owner died (or the file is old garbage): take it over.
    await rm(path, { force: true });
  }
  const owner = await readOwner(path);
  throw new WarehouseBusyError(owner ?? { pid: 0, holder: "another process", since: "?" }, path);
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

async function readOwner(path: string): Promise<RunLockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<RunLockOwner>;
    return typeof parsed.pid === "number"
      ? { pid: parsed.pid, holder: String(parsed.holder ?? "?"), since: String(parsed.since ?? "?") }
      : undefined;
  } catch {
    return undefined;
  }
}
