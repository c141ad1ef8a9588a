import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import {
  checkExtract,
  type ExtractRun,
  holdoutSpans,
  InsufficientDataError,
  startExtract,
} from "../../../core/data/extract.ts";
import { loadFile } from "../../../core/data/load/load.ts";
import { readSessions } from "../../../core/data/session-parquet.ts";
import type { DataManifest } from "../../../core/pipeline/contracts.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { loadDbtProject } from "../../../local/dbt/project.ts";
import { runDbtProject } from "../../../local/dbt/runner.ts";
import { CLICK_SAMPLE, countClickLog, DBT_PROJECT_DIR } from "./fixtures.ts";

describe("holdoutSpans", () => {
  it("reaches back H days for test and 2H days for validation", () => {
    expect(holdoutSpans({ start: "2014-04-01", end: "2014-04-07" }, 1)).toEqual({
      testMs: 86_400_000,
      validationMs: 172_800_000,
    });
    expect(holdoutSpans({ start: "2024-02-20", end: "2024-03-01" }, 2)).toEqual({
      testMs: 172_800_000,
      validationMs: 345_600_000,
    });
  });

  it("refuses a window too short to leave a training day", () => {
    expect(() => holdoutSpans({ start: "2014-04-01", end: "2014-04-04" }, 2)).toThrow(
      /has 4 day\(s\); holdoutDays=2 needs at least 5/,
    );
  });
});

describe("extract on DuckDB", () => {
  let folder: string;
  let warehouse: DuckDBWarehouse;
  const store = new FileSystemArtifactStore();
  const window = { start: "2014-04-01", end: "2014-04-06" };
  const run = (overrides: Partial<ExtractRun> = {}): ExtractRun => ({
    runId: "run-1",
    executionName: "nightly-1",
    window,
    tenant: "yoochoose",
    holdoutDays: 1,
    minSessions: 10,
    uris: runArtifactUris(folder, overrides.runId ?? "run-1"),
    ...overrides,
  });
  const extract = async (target: ExtractRun) => {
    const started = await startExtract(warehouse, store, target);
    await warehouse.wait(started.queryId);
    return checkExtract(warehouse, store, target, started, {}, () => new Date("2024-01-01T00:00:00Z"));
  };

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pms-extract-"));
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, {
      vars: { tenant: "yoochoose", window_start: window.start, window_end: window.end },
      test: false,
    });
    expect(report.success).toBe(true);
  });
  afterAll(async () => {
    await warehouse.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("writes each split as Parquet that readSessions reads back, and the manifest last", async () => {
    const target = run();
    const state = await extract(target);
    expect(state).toMatchObject({ status: "succeeded", finished: true, manifestUri: target.uris.data.manifest });

    const expected = countClickLog(CLICK_SAMPLE);
    const train = await readSessions(store, target.uris.data.train);
    const validation = await readSessions(store, target.uris.data.validation);
    const test = await readSessions(store, target.uris.data.test);
    const all = [...train, ...validation, ...test];
    const trainable = [...expected.sessionLengths.entries()].filter(([, length]) => length >= 2);
    expect(all.length).toBe(trainable.length);
    for (const session of all) {
      expect(session.tenant).toBe("yoochoose");
      expect(session.items.length).toBe(session.length);
      expect(session.length).toBe(expected.sessionLengths.get(session.session_id));
    }
    // The session-rec split: measured back from the latest session start, one day per hold-out split.
    const latest = Math.max(...all.map((s) => s.session_start_ms));
    const day = 86_400_000;
    expect(test.length).toBeGreaterThan(0);
    expect(validation.length).toBeGreaterThan(0);
    for (const s of test) expect(s.session_start_ms).toBeGreaterThan(latest - day);
    for (const s of validation) {
      expect(s.session_start_ms).toBeGreaterThan(latest - 2 * day);
      expect(s.session_start_ms).toBeLessThanOrEqual(latest - day);
    }
    for (const s of train) expect(s.session_start_ms).toBeLessThanOrEqual(latest - 2 * day);

    const manifest = JSON.parse(await store.getText(target.uris.data.manifest)) as DataManifest;
    expect(manifest).toEqual(state.manifest);
    expect(manifest.splits.train).toMatchObject({
      rows: train.length,
      sessions: train.length,
      events: train.reduce((sum, s) => sum + s.length, 0),
      items: new Set(train.flatMap((s) => s.items)).size,
      uri: target.uris.data.train,
      firstDay: "2014-04-01",
      lastDay: [...train.map((s) => s.session_date)].sort().at(-1),
    });
    expect(manifest.splits.test.sessions).toBe(test.length);
    expect(manifest.items).toBe(new Set(all.flatMap((s) => s.items)).size);
    expect(manifest).toMatchObject({
      window,
      tenant: "yoochoose",
      holdoutDays: 1,
      createdAt: "2024-01-01T00:00:00.000Z",
    });
    expect(manifest.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await readdir(join(folder, "runs/run-1/data"))).toEqual(["manifest.json", "test", "train", "validation"]);
  });

  it("gives the same content hash for the same data, and replaces an earlier attempt's files", async () => {
    const first = await extract(run({ runId: "run-2" }));
    const second = await extract(run({ runId: "run-2" }));
    expect(second.manifest?.contentHash).toBe(first.manifest?.contentHash);
    expect(await readdir(join(folder, "runs/run-2/data/train"))).toEqual(["part-0.parquet"]);
    const otherWindow = await extract(run({ runId: "run-3", window: { start: "2014-04-02", end: "2014-04-06" } }));
    expect(otherWindow.manifest?.contentHash).not.toBe(first.manifest?.contentHash);
  });

  it("fails with InsufficientData when the window holds fewer sessions than minSessions, and leaves no files", async () => {
    const target = run({ runId: "run-4", minSessions: 1_000_000 });
    const error = await extract(target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as Error).name).toBe("InsufficientData");
    expect((error as Error).message).toMatch(
      /training session\(s\) \(those before the last 2 day\(s\) of the window's sessions\), fewer than minSessions=1000000/,
    );
    expect(await store.exists(target.uris.data.manifest)).toBe(false);
    expect(await store.list(target.uris.data.train)).toEqual([]);
  });

  it("fails with InsufficientData for a tenant or window without events", async () => {
    await expect(extract(run({ runId: "run-5", tenant: "nobody" }))).rejects.toThrow(
      /Tenant "nobody".*0 training session\(s\).*no validation session.*no test session/,
    );
    await expect(
      extract(run({ runId: "run-6", window: { start: "2015-01-01", end: "2015-01-09" } })),
    ).rejects.toBeInstanceOf(InsufficientDataError);
  });
});
