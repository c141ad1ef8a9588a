import { afterEach, describe, expect, it } from "vitest";
import { loadFile } from "../../../core/data/load/load.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { LocalDbtTransformer } from "../../../local/dbt/transformer.ts";
import { CLICK_SAMPLE, DBT_PROJECT_DIR } from "../../core/data/fixtures.ts";

describe("LocalDbtTransformer", () => {
  let warehouse: DuckDBWarehouse;
  afterEach(async () => {
    await warehouse?.close();
  });

  it("runs the project in the background and reports success with the run's vars", async () => {
    // Prepare
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const lines: string[] = [];
    const transformer = new LocalDbtTransformer({
      projectDir: DBT_PROJECT_DIR,
      warehouse,
      log: (line) => lines.push(line),
    });

    // Act
    const started = await transformer.start({
      cause: "execution nightly-1",
      vars: { tenant: "yoochoose", window_start: "2014-04-05", window_end: "2014-04-06" },
    });
    const finished = await transformer.wait(started.id);

    // Assess
    expect(started).toMatchObject({ status: "running", finished: false, url: `local-dbt://runs/${started.id}` });
    expect(finished).toMatchObject({ id: started.id, status: "success", finished: true });
    expect(finished.message).toBeUndefined();
    expect(lines[0]).toBe("Running with dbt (local runner) for: execution nightly-1");
    const [window] = await warehouse.query<{ first: string; last: string }>(
      "select strftime(min(session_date), '%Y-%m-%d') as first, strftime(max(session_date), '%Y-%m-%d') as last from main.training_sessions",
    );
    expect(window).toEqual({ first: "2014-04-05", last: "2014-04-06" });
  });

  it("ends the run in error, naming the failing test", async () => {
    // Prepare
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    await warehouse.query(
      "update raw.events set etl_id = 'same' where etl_id in (select etl_id from raw.events limit 2)",
    );
    const transformer = new LocalDbtTransformer({ projectDir: DBT_PROJECT_DIR, warehouse });

    // Act
    const finished = await transformer.wait((await transformer.start({ cause: "test" })).id);

    // Assess
    expect(finished.status).toBe("error");
    expect(finished.message).toMatch(
      /^test source_unique_raw_events_etl_id \(models\/staging\/sources\.yml\) got 1 failing row/,
    );
    expect(transformer.details(finished.id).report?.success).toBe(false);
  });

  it("ends in error when the project cannot be read, and cancels a running run", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const broken = new LocalDbtTransformer({ projectDir: "/no/such/project", warehouse });
    const failed = await broken.wait((await broken.start({ cause: "test" })).id);
    expect(failed.status).toBe("error");
    expect(failed.message).toMatch(/no such file.*dbt_project\.yml/i);

    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const transformer = new LocalDbtTransformer({ projectDir: DBT_PROJECT_DIR, warehouse });
    const started = await transformer.start({ cause: "test" });
    await transformer.cancel(started.id);
    const cancelled = await transformer.wait(started.id);
    expect(cancelled.status).toBe("cancelled");
    expect(transformer.details(started.id).report?.results.every((result) => result.status === "skipped")).toBe(true);
  });
});
