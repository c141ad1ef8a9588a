import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadFile } from "../../../core/data/load/load.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { DbtUnsupportedError, loadDbtProject } from "../../../local/dbt/project.ts";
import { type DbtRunReport, runDbtProject } from "../../../local/dbt/runner.ts";
import { CLICK_SAMPLE, countClickLog, DBT_PROJECT_DIR } from "../../core/data/fixtures.ts";

const VARS = { tenant: "yoochoose", window_start: "2014-04-01", window_end: "2014-04-06" };

function failed(report: DbtRunReport): string[] {
  return report.results
    .filter((result) => result.status === "fail" || result.status === "error")
    .map((result) => result.name);
}

describe("the dbt project on the local runner", () => {
  let warehouse: DuckDBWarehouse;
  afterEach(async () => {
    await warehouse?.close();
  });

  async function loadedWarehouse(): Promise<DuckDBWarehouse> {
    const fresh = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(fresh, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    return fresh;
  }

  it("builds every model and passes every test on the click-log fixture", async () => {
    warehouse = await loadedWarehouse();
    const lines: string[] = [];
    const project = await loadDbtProject(DBT_PROJECT_DIR);
    const report = await runDbtProject(project, warehouse, { vars: VARS, log: (line) => lines.push(line) });
    expect(failed(report)).toEqual([]);
    expect(report.success).toBe(true);
    const models = report.results.filter((result) => result.kind === "model");
    expect(models.map((model) => [model.name, model.materialization])).toEqual([
      ["stg_browsing_events", "view"],
      ["session_interactions", "incremental"],
      ["sessions", "incremental"],
      ["training_sessions", "view"],
    ]);
    const tests = report.results.filter((result) => result.kind === "test");
    expect(tests.length).toBe(project.schemaTests.length + project.singularTests.length);
    expect(tests.map((test) => test.name)).toContain("assert_session_interactions_in_time_order");
    expect(lines.at(-1)).toMatch(/^Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0/);
    expect(lines).toContain(`1 of ${report.results.length} START sql view model main.stg_browsing_events`);

    const expected = countClickLog(CLICK_SAMPLE);
    const sessions = await warehouse.query<{ session_id: string; length: number; items: string[] }>(
      "select session_id, length, items from main.sessions",
    );
    expect(sessions.length).toBe(expected.sessions);
    expect(report.results.find((result) => result.name === "sessions")?.rows).toBe(expected.sessions);
    expect(sessions.reduce((sum, session) => sum + session.length, 0)).toBe(expected.distinctEvents);
    for (const session of sessions) expect(session.length).toBe(expected.sessionLengths.get(session.session_id));
    const training = await warehouse.query<{ n: number }>("select count(*) as n from main.training_sessions");
    const longEnough = [...expected.sessionLengths.values()].filter((length) => length >= 2).length;
    expect(training[0]?.n).toBe(longEnough);
  });

  it("orders each session's items by time, whatever order the file had", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const folder = await mkdtemp(join(tmpdir(), "pms-dbt-order-"));
    const file = join(folder, "clicks.tsv");
    await writeFile(file, "1\tc\t1396396803\n1\ta\t1396396801\n1\tb\t1396396802\n1\tA \t1396396804\n");
    await loadFile(warehouse, file, { format: "rsc15", tenant: "t" });
    await rm(folder, { recursive: true });
    const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, { vars: { tenant: "t" } });
    expect(failed(report)).toEqual([]);
    expect(await warehouse.query("select items from main.sessions")).toEqual([{ items: ["a", "b", "c", "a"] }]);
  });

  it("rebuilds only the sessions a new load touches, and keeps one copy of an event loaded twice", async () => {
    warehouse = await loadedWarehouse();
    const project = await loadDbtProject(DBT_PROJECT_DIR);
    await runDbtProject(project, warehouse, { vars: VARS, test: false });
    const interactions = async () =>
      (await warehouse.query<{ n: number }>("select count(*) as n from main.session_interactions"))[0]?.n ?? 0;
    const before = await interactions();
    const [first] = await warehouse.query<{ session_id: string; items: string[] }>(
      "select session_id, items from main.sessions order by session_id limit 1",
    );
    // A late click in an existing session.
    const folder = await mkdtemp(join(tmpdir(), "pms-dbt-inc-"));
    await writeFile(join(folder, "late.tsv"), `${first?.session_id}\tlate-item\t1400000000\n`);
    await loadFile(warehouse, join(folder, "late.tsv"), { format: "rsc15", tenant: "yoochoose" });
    await rm(folder, { recursive: true });

    const incremental = await runDbtProject(project, warehouse, { vars: VARS });
    expect(failed(incremental)).toEqual([]);
    expect(incremental.results.find((result) => result.name === "sessions")?.rows).toBe(1);
    expect(await interactions()).toBe(before + 1);
    const [updated] = await warehouse.query<{ items: string[] }>(
      "select items from main.sessions where session_id = ?",
      {
        binds: [first?.session_id ?? ""],
      },
    );
    expect(updated?.items).toEqual([...(first?.items ?? []), "late-item"]);

    // The whole file again: every session is touched, none gains an event.
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const reloaded = await runDbtProject(project, warehouse, { vars: VARS });
    expect(failed(reloaded)).toEqual([]);
    expect(reloaded.results.find((result) => result.name === "sessions")?.rows).toBe(
      countClickLog(CLICK_SAMPLE).sessions,
    );
    expect(await interactions()).toBe(before + 1);
  });

  describe("a broken fixture fails the right test", () => {
    it("an unknown product_action fails accepted_values on staging, and the run names it", async () => {
      warehouse = await loadedWarehouse();
      await warehouse.query(
        `insert into raw.events select 'bad-1', now()::timestamp, 'yoochoose', 'event_product', date '2014-04-02',
          json_object('session_id', 's', 'product_sku', 'x', 'product_action', 'zoom', 'server_timestamp_epoch_ms', 1396396800000)`,
      );
      const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, { vars: VARS });
      expect(failed(report)).toEqual([
        "accepted_values_stg_browsing_events_product_action__detail__add__purchase__remove__click",
      ]);
      expect(report.success).toBe(false);
      expect(report.message).toMatch(/accepted_values_stg_browsing_events_product_action.* got 1 failing row/);
    });

    it("a raw row without a session id fails not_null on staging only", async () => {
      warehouse = await loadedWarehouse();
      await warehouse.query(
        `insert into raw.events select 'bad-2', now()::timestamp, 'yoochoose', 'pageview', date '2014-04-02',
          json_object('server_timestamp_epoch_ms', 1396396800000)`,
      );
      const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, { vars: VARS });
      expect(failed(report).sort()).toEqual([
        "not_null_stg_browsing_events_event_key",
        "not_null_stg_browsing_events_session_id",
        "not_null_stg_browsing_events_session_key",
      ]);
    });

    it("a duplicate etl_id fails the source's unique test", async () => {
      warehouse = await loadedWarehouse();
      await warehouse.query(
        "update raw.events set etl_id = 'same' where etl_id in (select etl_id from raw.events limit 2)",
      );
      const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, { vars: VARS });
      expect(failed(report)).toEqual(["source_unique_raw_events_etl_id"]);
    });

    it("interactions out of time order fail the singular ordering test", async () => {
      warehouse = await loadedWarehouse();
      const project = await loadDbtProject(DBT_PROJECT_DIR);
      await runDbtProject(project, warehouse, { vars: VARS, test: false });
      await warehouse.query("update main.session_interactions set event_ms = 0 where position = 2");
      const report = await runDbtProject(project, warehouse, { vars: VARS, models: false });
      expect(failed(report)).toEqual(["assert_session_interactions_in_time_order"]);
    });
  });
});

describe("what the local runner does not support", () => {
  let copy: string;
  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), "pms-dbt-unsupported-"));
  });
  afterAll(async () => {
    await rm(copy, { recursive: true, force: true });
  });

  async function projectWith(file: string, text: string): Promise<string> {
    const dir = await mkdtemp(join(copy, "p-"));
    await cp(DBT_PROJECT_DIR, dir, { recursive: true });
    await writeFile(join(dir, file), text);
    return dir;
  }

  it("fails with the file and the construct for an unknown dbt function", async () => {
    const dir = await projectWith("models/marts/extra.sql", "select 1 as x\n{{ run_query('select 1') }}\n");
    const warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await expect(runDbtProject(await loadDbtProject(dir), warehouse)).rejects.toThrow(
      /models\/marts\/extra\.sql: cannot render \(.*run_query.*extra\.sql:2/,
    );
    await warehouse.close();
  });

  it("names a ref to no model, a missing var and an unsupported config key — and keeps rendering afterwards", async () => {
    const warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const cases: [string, RegExp][] = [
      ["select * from {{ ref('nope') }}", /models\/marts\/extra\.sql: ref\('nope'\) names no model of the project/],
      ["select {{ var('not_declared') }}", /models\/marts\/extra\.sql: Required var 'not_declared' not found/],
      [
        "{{ config(post_hook='grant') }}\nselect 1",
        /models\/marts\/extra\.sql: config\(post_hook=\.\.\.\) is not supported/,
      ],
    ];
    for (const [text, message] of cases) {
      const dir = await projectWith("models/marts/extra.sql", text);
      await expect(runDbtProject(await loadDbtProject(dir), warehouse)).rejects.toThrow(message);
    }
    // An error raised inside a Jinja callback must not poison the engine for the next render.
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const report = await runDbtProject(await loadDbtProject(DBT_PROJECT_DIR), warehouse, { vars: VARS, test: false });
    expect(report.success).toBe(true);
    await warehouse.close();
  });

  it("fails for an adapter method other than dispatch, a package test, or an unknown materialization", async () => {
    const warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const adapterUse = await projectWith(
      "models/marts/extra.sql",
      "select 1 as x\n-- {{ adapter.get_relation('a') }}\n",
    );
    await expect(runDbtProject(await loadDbtProject(adapterUse), warehouse)).rejects.toThrow(
      /models\/marts\/extra\.sql:2: adapter\.get_relation is not supported/,
    );
    const packageTest = await projectWith(
      "models/marts/extra.yml",
      "version: 2\nmodels:\n  - name: sessions\n    columns:\n      - name: length\n        data_tests:\n          - dbt_utils.accepted_range:\n              min_value: 1\n",
    );
    const error = await loadDbtProject(packageTest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DbtUnsupportedError);
    expect((error as Error).message).toMatch(
      /models\/marts\/extra\.yml: generic test "dbt_utils\.accepted_range" is not supported/,
    );
    const ephemeral = await projectWith(
      "models/marts/extra.sql",
      "{{ config(materialized='ephemeral') }}\nselect 1 as x\n",
    );
    await expect(runDbtProject(await loadDbtProject(ephemeral), warehouse)).rejects.toThrow(
      /models\/marts\/extra\.sql: materialized='ephemeral' is not supported/,
    );
    await warehouse.close();
  });
});
