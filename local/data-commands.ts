import type { LoadFormat } from "../core/data/load/formats.ts";
import { type BadRowPolicy, type LoadResult, loadFile } from "../core/data/load/load.ts";
import { DuckDBWarehouse } from "../core/warehouse/duckdb.ts";
import type { PmsHome } from "./home.ts";
import { ensurePmsHome } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";

export interface LoadCommandOptions {
  readonly home: PmsHome;
  readonly file: string;
  readonly format: LoadFormat;
  readonly tenant: string;
  readonly onBadRow: BadRowPolicy;
  readonly reporter: ProgressReporter;
}

const MB = 1024 * 1024;

/** `pms data load`: the data room's loader into `$PMS_HOME/warehouse.duckdb`, with a progress bar. */
export async function loadCommand(options: LoadCommandOptions): Promise<LoadResult> {
  await ensurePmsHome(options.home);
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
  }
}
