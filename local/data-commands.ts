import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  GenerateOptionsError,
  type GenerateResult,
  generateEvents,
  generateIntoWarehouse,
} from "../core/data/generate.ts";
import type { LoadFormat } from "../core/data/load/formats.ts";
import { type BadRowPolicy, type LoadResult, loadFile } from "../core/data/load/load.ts";
import { ensureRawTables, RAW_EVENTS_TABLE } from "../core/data/raw-events.ts";
import { DuckDBWarehouse } from "../core/warehouse/duckdb.ts";
import type { PmsHome } from "./home.ts";
import { ensurePmsHome } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";
import { acquireRunLock } from "./run-lock.ts";

export interface LoadCommandOptions {
  readonly home: PmsHome;
  readonly file: string;
  readonly format: LoadFormat;
  readonly tenant: string;
  readonly onBadRow: BadRowPolicy;
  readonly reporter: ProgressReporter;
}

const MB = 1024 * 1024;

export class DataFileNotFoundError extends Error {
  override readonly name = "DataFileNotFoundError";
}

/** `pms data load`: the data room's loader into `$PMS_HOME/warehouse.duckdb`, with a progress bar. */
export async function loadCommand(options: LoadCommandOptions): Promise<LoadResult> {
  // Before the warehouse opens: a wrong path is the commonest mistake, and deserves its own message.
  const path = resolve(options.file);
  if (!existsSync(path))
    throw new DataFileNotFoundError(
      `No file at ${path}${path === options.file ? "" : ` ("${options.file}" from ${process.cwd()})`}: check the path. ` +
        "`pms data generate --out browsing_train.csv` writes a sample in the coveo format.",
    );
  await ensurePmsHome(options.home);
  const releaseLock = await acquireRunLock(options.home, `data load ${options.file}`);
  const warehouse = new DuckDBWarehouse({ path: options.home.warehouse });
  const { reporter } = options;
  try {
    const result = await loadFile(warehouse, options.file, {
      format: options.format,
      tenant: options.tenant,
      onBadRow: options.onBadRow,
      onProgress: (progress) => {
        if (progress.phase === "parse")
          reporter.progress(
            "reading",
            progress.bytesRead / MB,
            progress.totalBytes / MB,
            `${progress.lines.toLocaleString("en-US")} lines`,
          );
        else if (progress.phase === "insert") {
          reporter.progressDone("reading", `${progress.lines.toLocaleString("en-US")} lines`);
          reporter.line("    inserting in one transaction…");
        }
      },
    });
    reporter.line(
      `Loaded ${result.rows.toLocaleString("en-US")} rows from ${result.file} (${result.format}) into ${result.table} of ${options.home.warehouse} in ${result.seconds.toFixed(1)} s` +
        (result.badRows > 0 ? `; skipped ${result.badRows} bad row(s)` : ""),
    );
    for (const bad of result.badRowSamples) reporter.line(`    line ${bad.line}: ${bad.reason}`);
    return result;
  } finally {
    await warehouse.close();
    await releaseLock();
  }
}

export interface GenerateCommandOptions {
  readonly home: PmsHome;
  readonly events: number;
  readonly seed?: number;
  readonly startDate?: string;
  readonly days?: number;
  readonly tenant: string;
  /** Write a Coveo-format CSV here instead of loading the warehouse. */
  readonly out?: string;
  /**
   * Also the product catalogue: `true` loads it into `raw.products` (or, with `out`, writes
   * sku_to_content.csv beside it); a path writes it there.
   */
  readonly catalog?: string | boolean;
  readonly reporter: ProgressReporter;
}

/** `pms data generate`: the data room's seeded generator, into the warehouse (default) or a file. */
export async function generateCommand(options: GenerateCommandOptions): Promise<GenerateResult> {
  const { reporter } = options;
  const generateOptions = {
    events: options.events,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.startDate === undefined ? {} : { startDate: options.startDate }),
    ...(options.days === undefined ? {} : { days: options.days }),
    onProgress: (progress: { events: number; total: number }) =>
      reporter.progress("generating", progress.events, progress.total, "events"),
  };
  let result: GenerateResult;
  if (options.out) {
    const catalogOut =
      typeof options.catalog === "string"
        ? options.catalog
        : options.catalog
          ? join(dirname(options.out), "sku_to_content.csv")
          : undefined;
    result = await generateEvents(options.out, { ...generateOptions, ...(catalogOut ? { catalogOut } : {}) });
    reporter.progressDone("generating");
    reporter.line(
      `Wrote ${describeGenerated(result)} to ${options.out}${catalogOut ? ` and the catalogue to ${catalogOut}` : ""}`,
    );
    return result;
  }
  if (typeof options.catalog === "string")
    throw new GenerateOptionsError(
      `--catalog ${options.catalog}: a catalogue file goes with --out; without --out, pass --catalog alone to load it into the warehouse`,
    );
  await ensurePmsHome(options.home);
  const releaseLock = await acquireRunLock(options.home, "data generate");
  const warehouse = new DuckDBWarehouse({ path: options.home.warehouse });
  let catalogRows: number | undefined;
  try {
    const loaded = await generateIntoWarehouse(warehouse, {
      ...generateOptions,
      tenant: options.tenant,
      catalog: options.catalog === true,
    });
    result = loaded;
    catalogRows = loaded.catalogLoad?.rows;
  } finally {
    await warehouse.close();
    await releaseLock();
  }
  reporter.progressDone("generating");
  reporter.line(
    `Loaded ${describeGenerated(result)} into ${options.home.warehouse} (tenant ${options.tenant})` +
      (catalogRows === undefined ? "" : `, and ${catalogRows.toLocaleString("en-US")} products into raw.products`),
  );
  return result;
}

function describeGenerated(result: GenerateResult): string {
  return `${result.events.toLocaleString("en-US")} events, ${result.sessions.toLocaleString("en-US")} sessions, ${result.items.toLocaleString("en-US")} items, ${result.firstDay}..${result.lastDay} (${result.seconds.toFixed(1)} s)`;
}

/** A day with fewer events than this share of the busiest day is a partial day (a log cut mid-day). */
const PARTIAL_DAY_SHARE = 0.1;

/**
 * The days the warehouse holds events for a tenant, or undefined when it holds none. `last` is the
 * last full day: a trailing day with only a sliver of events (a log cut just after midnight, sessions
 * running past the last midnight) would leave a run's test day nearly empty.
 */
export async function warehouseEventDays(
  home: PmsHome,
  tenant: string,
): Promise<{ readonly first: string; readonly last: string; readonly events: number } | undefined> {
  const warehouse = new DuckDBWarehouse({ path: home.warehouse });
  try {
    await ensureRawTables(warehouse);
    const days = await warehouse.query<{ day: string; events: number }>(
      `select cast(event_date as varchar) as day, count(*) as events
       from ${RAW_EVENTS_TABLE} where api_key = ? group by event_date order by event_date`,
      { binds: [tenant] },
    );
    return fullDays(days);
  } finally {
    await warehouse.close();
  }
}

export function fullDays(
  days: readonly { readonly day: string; readonly events: number }[],
): { readonly first: string; readonly last: string; readonly events: number } | undefined {
  const busiest = Math.max(0, ...days.map((day) => day.events));
  const full = days.filter((day) => day.events >= busiest * PARTIAL_DAY_SHARE);
  const first = full[0];
  const last = full.at(-1);
  if (!first || !last) return undefined;
  return { first: first.day, last: last.day, events: days.reduce((sum, day) => sum + day.events, 0) };
}
