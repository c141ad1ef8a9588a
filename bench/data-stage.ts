/**
 * One stage of `npm run bench -- data`, run in its own process by bench/data.ts so that its peak
 * RSS (process.resourceUsage().maxRSS) is that stage's alone. Prints one JSON line.
 */
import { join } from "node:path";
import { FileSystemArtifactStore } from "../core/artifacts/filesystem.ts";
import { checkExtract, startExtract } from "../core/data/extract.ts";
import { generateEvents } from "../core/data/generate.ts";
import { loadFile } from "../core/data/load/load.ts";
import { runArtifactUris } from "../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../core/warehouse/duckdb.ts";
import { loadDbtProject } from "../local/dbt/project.ts";
import { runDbtProject } from "../local/dbt/runner.ts";

const [stage, folder, eventsText] = process.argv.slice(2);
if (!stage || !folder) throw new Error("usage: data-stage.ts <generate|load|dbt|extract> <folder> [events]");
const events = Number(eventsText ?? 0);
const TENANT = "bench";
const WINDOW = { start: "2024-01-01", end: "2024-01-14" };
const file = join(folder, "browsing_train.csv");
const database = join(folder, "warehouse.duckdb");

const started = performance.now();
const detail: Record<string, unknown> = {};
if (stage === "generate") {
  Object.assign(detail, await generateEvents(file, { events, seed: 1, startDate: WINDOW.start, days: 14 }));
} else {
  const warehouse = new DuckDBWarehouse({ path: database });
  if (stage === "load") {
    const result = await loadFile(warehouse, file, { format: "coveo", tenant: TENANT });
    detail.rows = result.rows;
  } else if (stage === "dbt") {
    const report = await runDbtProject(
      await loadDbtProject(new URL("../dbt-project/", import.meta.url).pathname),
      warehouse,
      { vars: { tenant: TENANT, window_start: WINDOW.start, window_end: WINDOW.end }, test: false },
    );
    if (!report.success) throw new Error(report.message);
    detail.models = Object.fromEntries(
      report.results.map((result) => [result.name, { rows: result.rows, seconds: +result.seconds.toFixed(2) }]),
    );
  } else if (stage === "extract") {
    const store = new FileSystemArtifactStore();
    const run = {
      runId: "bench",
      executionName: "bench",
      window: WINDOW,
      tenant: TENANT,
      holdoutDays: 1,
      minSessions: 1,
      uris: runArtifactUris(join(folder, "artifacts"), "bench"),
    };
    const state = await startExtract(warehouse, store, run);
    await warehouse.wait(state.queryId);
    const done = await checkExtract(warehouse, store, run, state);
    detail.sessions = done.manifest?.splits.train.sessions;
    detail.items = done.manifest?.items;
  } else throw new Error(`unknown stage ${stage}`);
  await warehouse.close();
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    ...detail,
    stage,
    seconds: +seconds.toFixed(2),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
