import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadFile } from "../../../core/data/load/load.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { MANIFEST_SCHEMA, RUN_RESULTS_SCHEMA } from "../../../local/dbt/artifacts.ts";
import { LocalDbtTransformer } from "../../../local/dbt/transformer.ts";
import { CLICK_SAMPLE, DBT_PROJECT_DIR } from "../../core/data/fixtures.ts";

interface RunResults {
  metadata: Record<string, unknown>;
  results: {
    unique_id: string;
    status: string;
    execution_time: number;
    failures: number | null;
    timing: { name: string; started_at: string; completed_at: string }[];
    thread_id: string;
    adapter_response: Record<string, unknown>;
  }[];
  elapsed_time: number;
  args: Record<string, unknown>;
}

describe("the local dbt runner's artifacts", () => {
  let warehouse: DuckDBWarehouse;
  afterEach(async () => {
    await warehouse?.close();
  });

  it("writes target/run_results.json and target/manifest.json in dbt's artifact format", async () => {
    // Prepare
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await loadFile(warehouse, CLICK_SAMPLE, { format: "rsc15", tenant: "yoochoose" });
    const targetDir = join(await mkdtemp(join(tmpdir(), "pms-dbt-target-")), "target");
    const reports: { kind: string; name: string; status: string }[][] = [];
    const transformer = new LocalDbtTransformer({
      projectDir: DBT_PROJECT_DIR,
      warehouse,
      targetDir,
      onFinished: (report) => reports.push([...report.results]),
    });
    const vars = { tenant: "yoochoose", window_start: "2014-04-01", window_end: "2014-04-06" };

    // Act
    const run = await transformer.wait((await transformer.start({ cause: "test", vars })).id);

    // Assess
    expect(run.status).toBe("success");
    const runResults = JSON.parse(await readFile(join(targetDir, "run_results.json"), "utf8")) as RunResults;
    const manifest = JSON.parse(await readFile(join(targetDir, "manifest.json"), "utf8")) as {
      metadata: Record<string, unknown>;
      nodes: Record<string, { resource_type: string; name: string; original_file_path: string; package_name: string }>;
      parent_map: Record<string, string[]>;
    };
    expect(runResults.metadata).toMatchObject({ dbt_schema_version: RUN_RESULTS_SCHEMA, invocation_id: run.id });
    expect(manifest.metadata).toMatchObject({
      dbt_schema_version: MANIFEST_SCHEMA,
      invocation_id: run.id,
      project_name: "post_modern_stack",
      adapter_type: "duckdb",
    });
    expect(Object.keys(runResults)).toEqual(expect.arrayContaining(["metadata", "results", "elapsed_time", "args"]));
    expect(Object.keys(manifest)).toEqual(
      expect.arrayContaining([
        "metadata",
        "nodes",
        "sources",
        "macros",
        "docs",
        "exposures",
        "metrics",
        "selectors",
        "disabled",
        "parent_map",
        "child_map",
      ]),
    );
    expect(runResults.args).toMatchObject({ which: "build", vars });
    // One result per node the runner ran, in its order, each in the manifest under the same id.
    const nodes = reports[0] ?? [];
    expect(runResults.results.map((result) => result.status)).toEqual(nodes.map((node) => node.status));
    for (const result of runResults.results) {
      expect(manifest.nodes[result.unique_id], result.unique_id).toBeDefined();
      expect(result.unique_id).toMatch(/^(model|test)\.post_modern_stack\./);
      expect(result.thread_id).toBe("Thread-1");
      expect(Date.parse(result.timing[0]?.completed_at ?? "")).toBeGreaterThanOrEqual(
        Date.parse(result.timing[0]?.started_at ?? ""),
      );
    }
    const models = runResults.results.filter((result) => result.unique_id.startsWith("model."));
    const tests = runResults.results.filter((result) => result.unique_id.startsWith("test."));
    expect(models.map((model) => model.unique_id)).toContain("model.post_modern_stack.training_sessions");
    expect(models.every((model) => model.status === "success" && model.failures === null)).toBe(true);
    expect(tests.length).toBeGreaterThan(10);
    expect(tests.every((test) => test.status === "pass" && test.failures === 0)).toBe(true);
    // Generic tests carry dbt's hash suffix; ids never collide.
    expect(new Set(runResults.results.map((result) => result.unique_id)).size).toBe(runResults.results.length);
    expect(manifest.nodes["model.post_modern_stack.training_sessions"]).toMatchObject({
      resource_type: "model",
      original_file_path: "models/marts/training_sessions.sql",
      package_name: "post_modern_stack",
    });
  });
});
