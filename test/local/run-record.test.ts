import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pmsHomeAt, resolvePmsHome, runFolder } from "../../local/home.ts";
import {
  type LocalRunRecord,
  latestSuccessfulRun,
  listRunRecords,
  readRunRecord,
  writeRunRecord,
} from "../../local/run-record.ts";

function record(runId: string, startedAt: string, status: LocalRunRecord["status"], modelUri?: string): LocalRunRecord {
  return { runId, executionName: runId, status, startedAt, input: {}, stages: [], ...(modelUri ? { modelUri } : {}) };
}

describe("PMS_HOME", () => {
  it("defaults to .pms in the working directory and honours PMS_HOME", () => {
    expect(resolvePmsHome({}, "/work/project").root).toBe("/work/project/.pms");
    expect(resolvePmsHome({ PMS_HOME: "state" }, "/work/project").warehouse).toBe(
      "/work/project/state/warehouse.duckdb",
    );
    expect(resolvePmsHome({ PMS_HOME: "/abs" }, "/elsewhere").runs).toBe("/abs/runs");
  });
});

describe("run records", () => {
  it("round-trip, list newest first, and leave no temporary file behind", async () => {
    // Prepare
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-home-")));
    // Act
    await writeRunRecord(home, record("a", "2026-11-26T10:00:00Z", "succeeded", "/m/a.tar.gz"));
    await writeRunRecord(home, record("b", "2026-11-26T11:00:00Z", "failed"));
    await writeRunRecord(home, record("c", "2026-11-26T09:00:00Z", "succeeded", "/m/c.tar.gz"));
    // Assess
    expect((await listRunRecords(home)).map((r) => r.runId)).toEqual(["b", "a", "c"]);
    expect((await readRunRecord(home, "a"))?.modelUri).toBe("/m/a.tar.gz");
    expect(await readRunRecord(home, "missing")).toBeUndefined();
    expect((await latestSuccessfulRun(home))?.runId).toBe("a");
    expect(await readdir(runFolder(home, "a"))).toEqual(["run.json"]);
  });

  it("lists nothing for a fresh home", async () => {
    const home = pmsHomeAt(join(await mkdtemp(join(tmpdir(), "pms-home-")), "never-created"));
    expect(await listRunRecords(home)).toEqual([]);
  });
});
