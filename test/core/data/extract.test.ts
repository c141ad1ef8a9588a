import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import {
  checkExtract,
  type ExtractRun,
  InsufficientDataError,
  splitRule,
  startExtract,
  VALIDATION_SHARE,
} from "../../../core/data/extract.ts";
import { COVEO_CATALOG_COLUMNS } from "../../../core/data/load/formats.ts";
import { loadFile } from "../../../core/data/load/load.ts";
import { readSessions } from "../../../core/data/session-parquet.ts";
import { productsPrefix, readItemAttributes } from "../../../core/evaluation/item-attributes.ts";
import type { DataManifest } from "../../../core/pipeline/contracts.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { loadDbtProject } from "../../../local/dbt/project.ts";
import { runDbtProject } from "../../../local/dbt/runner.ts";
import { CLICK_SAMPLE, countClickLog, DBT_PROJECT_DIR } from "./fixtures.ts";

const DAY_MS = 86_400_000;

describe("splitRule", () => {
  it("reaches back H days for test and draws 5% of the hash buckets for validation", () => {
    // Prepare
    const week = { start: "2014-04-01", end: "2014-04-07" };
    const tenDays = { start: "2024-02-20", end: "2024-03-01" };

    // Act
    const oneDay = splitRule(week, 1);
    const twoDays = splitRule(tenDays, 2);

    // Assess
    expect(oneDay).toEqual({ testMs: 86_400_000, validationBuckets: 500 });
    expect(twoDays).toEqual({ testMs: 172_800_000, validationBuckets: 500 });
  });

  it("needs H + 1 days: one day to train on besides the test days", () => {
    // Prepare
    const threeDays = { start: "2014-04-01", end: "2014-04-03" };

    // Act
    const enough = () => splitRule(threeDays, 2);
    const tooShort = () => splitRule(threeDays, 3);

    // Assess
    expect(enough).not.toThrow();
    expect(tooShort).toThrow(InsufficientDataError);
    expect(tooShort).toThrow(/has 3 day\(s\); holdoutDays=3 needs at least 4 \(3 test day\(s\), then at least one day/);
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
    // Test: the last 24 h before the latest session start; train and validation: everything earlier.
    const latest = Math.max(...all.map((s) => s.session_start_ms));
    expect(test.length).toBeGreaterThan(0);
    expect(validation.length).toBeGreaterThan(0);
    for (const s of test) expect(s.session_start_ms).toBeGreaterThan(latest - DAY_MS);
    for (const s of [...train, ...validation]) expect(s.session_start_ms).toBeLessThanOrEqual(latest - DAY_MS);

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

  it("draws validation as a stable sample of about 5% of the sessions before the test span, spread over its days", async () => {
    // Prepare
    const first = run({ runId: "run-7" });
    const rerun = run({ runId: "run-8" });

    // Act
    await extract(first);
    await extract(rerun);
    const train = await readSessions(store, first.uris.data.train);
    const validation = await readSessions(store, first.uris.data.validation);
    const test = await readSessions(store, first.uris.data.test);
    const validationAgain = await readSessions(store, rerun.uris.data.validation);

    // Assess
    // 576 sessions before the test span: a 5% sample lies well inside this band.
    const share = validation.length / (train.length + validation.length);
    expect(share).toBeGreaterThan(VALIDATION_SHARE / 2);
    expect(share).toBeLessThan(VALIDATION_SHARE * 1.5);
    const testStart = Math.min(...test.map((s) => s.session_start_ms));
    for (const s of validation) expect(s.session_start_ms).toBeLessThan(testStart);
    // Spread from the window's first day on, and the day just before the test span stays mostly in train.
    const validationDays = [...new Set(validation.map((s) => s.session_date))].sort();
    const trainDays = [...new Set(train.map((s) => s.session_date))].sort();
    expect(validationDays.length).toBeGreaterThanOrEqual(3);
    expect(validationDays[0]).toBe(trainDays[0]);
    const lastDay = trainDays.at(-1);
    const onLastDay = (sessions: readonly { session_date: string }[]) =>
      sessions.filter((s) => s.session_date === lastDay).length;
    expect(onLastDay(validation) / (onLastDay(train) + onLastDay(validation))).toBeLessThan(0.5);
    const ids = (sessions: readonly { session_id: string }[]) => sessions.map((s) => s.session_id).sort();
    expect(ids(validationAgain)).toEqual(ids(validation));
  });

  it("fails with InsufficientData when the window holds fewer sessions than minSessions, and leaves no files", async () => {
    const target = run({ runId: "run-4", minSessions: 1_000_000 });
    const error = await extract(target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as Error).name).toBe("InsufficientData");
    expect((error as Error).message).toMatch(
      /training session\(s\) \(those before the last 1 day\(s\) of the window's sessions, less the 5% drawn for validation\), fewer than minSessions=1000000/,
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

  it("unloads the product catalogue beside the splits, where evaluation reads its slice attributes", async () => {
    // Prepare: a catalogue for some of the click log's items.
    const catalogue = join(folder, "sku_to_content.csv");
    await writeFile(
      catalogue,
      `${COVEO_CATALOG_COLUMNS.join(",")}\n214716935,"[0.1]",cat-a,"[0.2]",3\n214832672,"[0.1]",cat-b,"[0.2]",7\n`,
    );
    await loadFile(warehouse, catalogue, { format: "coveo-catalog", tenant: "yoochoose" });
    const target = run({ runId: "run-7" });

    // Act
    await extract(target);

    // Assess
    const attributes = await readItemAttributes(store, productsPrefix(runArtifactUris(folder, "run-7")));
    expect(attributes?.get("214716935")).toEqual({ category: "cat-a", "price bucket": "3" });
    expect(attributes?.get("214832672")).toEqual({ category: "cat-b", "price bucket": "7" });
  });
});
