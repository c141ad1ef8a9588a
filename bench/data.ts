/**
 * `npm run bench -- data [--sizes 1000000,10000000]`: wall time and peak RSS of generate, load,
 * dbt run and extract on generated Coveo events, each stage in its own child process (its maxRSS is
 * the stage's peak, not the parent's). Target: 10M events from load to Parquet in under 2 minutes
 * with every stage under 2 GiB, near-linear from 1M to 10M.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

const STAGES = ["generate", "load", "dbt", "extract"] as const;

interface StageFigures {
  readonly stage: string;
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly [detail: string]: unknown;
}

function runStage(stage: string, folder: string, events: number): StageFigures {
  const started = performance.now();
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", new URL("./data-stage.ts", import.meta.url).pathname, stage, folder, String(events)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 << 20 },
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const line = output.trim().split("\n").at(-1) ?? "{}";
  return { ...(JSON.parse(line) as StageFigures), wallSeconds: +wallSeconds.toFixed(2) };
}

export async function run(args: string[]): Promise<unknown> {
  const sizesFlag = args.indexOf("--sizes");
  const sizes = (sizesFlag >= 0 ? (args[sizesFlag + 1] ?? "") : "1000000,10000000").split(",").map(Number);
  const results = [];
  for (const events of sizes) {
    const folder = await mkdtemp(join(tmpdir(), "pms-bench-data-"));
    try {
      const stages: StageFigures[] = [];
      for (const stage of STAGES) {
        const figures = runStage(stage, folder, events);
        stages.push(figures);
        console.error(`${events} events · ${stage}: ${figures.wallSeconds}s, peak RSS ${figures.peakRssMiB} MiB`);
      }
      const loadToParquet = stages.filter((s) => s.stage !== "generate").reduce((sum, s) => sum + s.wallSeconds, 0);
      results.push({
        events,
        stages,
        loadToParquetSeconds: +loadToParquet.toFixed(2),
        peakRssMiB: Math.max(...stages.map((s) => s.peakRssMiB)),
        eventsPerSecondLoadToParquet: Math.round(events / loadToParquet),
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }
  const [small, large] = results;
  return {
    machine: {
      cpus: cpus().length,
      totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
      loadAverageAtEnd: loadavg().map((n) => +n.toFixed(2)),
    },
    targets: { loadToParquetSeconds10M: 120, peakRssMiB: 2048 },
    results,
    ...(small && large
      ? {
          scaling: {
            eventsRatio: large.events / small.events,
            timeRatio: +(large.loadToParquetSeconds / small.loadToParquetSeconds).toFixed(2),
          },
        }
      : {}),
  };
}
