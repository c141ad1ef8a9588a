import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { loadFile } from "../../../core/data/load/load.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { createCheckExtractHandler } from "../../../lambdas/check-extract/handler.ts";
import { createStartExtractHandler } from "../../../lambdas/start-extract/handler.ts";
import { loadDbtProject } from "../../../local/dbt/project.ts";
import { runDbtProject } from "../../../local/dbt/runner.ts";
import { CLICK_SAMPLE, DBT_PROJECT_DIR } from "../../core/data/fixtures.ts";

describe("start-extract and check-extract handlers on the local twin's DuckDB", () => {
  let folder: string;
  let warehouse: DuckDBWarehouse;
  const store = new FileSystemArtifactStore();
  const state = (runId: string, overrides: Record<string, unknown> = {}) => ({
    run: {
      runId,
      shortId: "abc",
      executionName: `exec-${runId}`,
      trigger: "console",
      window: { start: "2014-04-01", end: "2014-04-06" },
      tenant: "yoochoose",
      holdoutDays: 1,
      minSessions: 50,
      uris: runArtifactUris(folder, runId),
      ...overrides,
    },
    transform: { runId: "1", status: "success" },
  });

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pms-extract-handlers-"));
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, {
      test: false,
      vars: { tenant: "yoochoose" },
    });
  });
  afterAll(async () => {
    await warehouse.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("starts the unload, then polls it to a manifest that lands in $.extract", async () => {
    // Prepare
    const startExtract = createStartExtractHandler({ warehouse, store });
    const checkExtract = createCheckExtractHandler({ warehouse, store, now: () => new Date("2024-01-01T00:00:00Z") });
    const input = state("run-a");

    // Act
    const started = await startExtract(input);
    await warehouse.wait(started.queryId);
    const checked = await checkExtract({ ...input, extract: started });

    // Assess
    expect(started).toMatchObject({ status: "running", finished: false, manifestUri: input.run.uris.data.manifest });
    expect(checked).toMatchObject({ queryId: started.queryId, status: "succeeded", finished: true });
    // The test split is the last 24 h before the latest session start, so it ends on the last day.
    expect(checked.manifest?.splits.test).toMatchObject({ lastDay: "2014-04-06" });
    expect(String(checked.manifest?.splits.test.firstDay) >= "2014-04-05").toBe(true);
    expect(checked.manifest?.splits.train.sessions).toBeGreaterThanOrEqual(50);
    expect(JSON.parse(await store.getText(input.run.uris.data.manifest))).toEqual(checked.manifest);
  });

  it("fails with InsufficientData, named for the state machine, when the window has too few sessions", async () => {
    // Prepare
    const startExtract = createStartExtractHandler({ warehouse, store });
    const checkExtract = createCheckExtractHandler({ warehouse, store });
    const input = state("run-b", { minSessions: 100_000 });

    // Act
    const started = await startExtract(input);
    await warehouse.wait(started.queryId);
    const error = await checkExtract({ ...input, extract: started }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe("InsufficientData");
    expect((error as Error).message).toMatch(/fewer than minSessions=100000/);
  });

  it("refuses a payload without the run's window or the extract's query id, naming the fields", async () => {
    // Prepare
    const startExtract = createStartExtractHandler({ warehouse, store });
    const checkExtract = createCheckExtractHandler({ warehouse, store });
    const input = state("run-c");

    // Act
    const withoutWindow = startExtract({ run: { ...input.run, window: { start: "April" } } });
    const withoutExtract = checkExtract(input);

    // Assess
    await expect(withoutWindow).rejects.toThrow(/"Start the extract" received a payload.*\n.*run\.window\.start/);
    await expect(withoutExtract).rejects.toThrow(/"Check the extract".*\n.*extract/);
  });
});
