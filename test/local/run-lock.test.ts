import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCommand } from "../../local/data-commands.ts";
import { pmsHomeAt } from "../../local/home.ts";
import { createRecordingReporter } from "../../local/progress.ts";
import { acquireRunLock, runLockPath, WarehouseBusyError } from "../../local/run-lock.ts";
import { type LocalRunRecord, listRunRecords, settleOrphanedRun, writeRunRecord } from "../../local/run-record.ts";

async function freshHome() {
  return pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-lock-")));
}

/** A pid that surely belonged to a process and no longer does. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  return child.pid;
}

describe("$PMS_HOME/run.lock", () => {
  it("makes a second run or load fail as WarehouseBusy, naming what holds it, and leaves the warehouse untouched", async () => {
    // Prepare: another live process (this worker's parent) holds the lock for a run.
    const home = await freshHome();
    await writeFile(
      runLockPath(home),
      JSON.stringify({ pid: process.ppid, holder: "run local-1a2b3c", since: "2026-12-07T23:00:00.000Z" }),
    );
    const file = join(home.root, "clicks.tsv");
    await writeFile(file, "1\t100\t1396396800\n");

    // Act
    const error = await loadCommand({
      home,
      file,
      format: "rsc15",
      tenant: "t",
      onBadRow: "abort",
      reporter: createRecordingReporter(),
    }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(WarehouseBusyError);
    expect((error as Error).message).toMatch(
      new RegExp(`run local-1a2b3c \\(process ${process.ppid}, since 2026-12-07T23:00:00.000Z\\) holds .*run\\.lock`),
    );
    await expect(stat(home.warehouse)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(acquireRunLock(home, "run local-other")).rejects.toBeInstanceOf(WarehouseBusyError);
  });

  it("is taken over from a process that died, and released by its holder only", async () => {
    // Prepare
    const home = await freshHome();
    await writeFile(runLockPath(home), JSON.stringify({ pid: deadPid(), holder: "run local-dead", since: "x" }));

    // Act
    const release = await acquireRunLock(home, "run local-alive");
    const held = JSON.parse(await readFile(runLockPath(home), "utf8"));
    await release();

    // Assess
    expect(held).toMatchObject({ pid: process.pid, holder: "run local-alive" });
    await expect(stat(runLockPath(home))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("a run whose process died", () => {
  const running: LocalRunRecord = {
    runId: "run-a",
    executionName: "local-a",
    status: "running",
    startedAt: "2026-01-01T00:00:00Z",
    input: {},
    stages: [],
  };

  it("shows as aborted in `pms runs`; a live one stays running", async () => {
    // Prepare
    const home = await freshHome();
    await writeRunRecord(home, { ...running, pid: deadPid() });
    await writeRunRecord(home, { ...running, runId: "run-b", startedAt: "2026-01-02T00:00:00Z", pid: process.pid });

    // Act
    const records = await listRunRecords(home);

    // Assess
    expect(records.map((record) => [record.runId, record.status])).toEqual([
      ["run-b", "running"],
      ["run-a", "aborted"],
    ]);
    expect(records[1]?.error?.cause).toMatch(/ended before the run finished/);
    // A record from before pids were recorded is left as it is: nothing says its process died.
    expect(settleOrphanedRun(running, () => false)).toBe(running);
  });
});
