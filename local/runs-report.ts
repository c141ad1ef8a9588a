import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { renderSvg } from "../core/evaluation/report/charts.ts";
import { escapeHtml } from "../core/evaluation/report/sections.ts";
import type { PmsHome } from "./home.ts";
import { type LocalRunRecord, listRunRecords } from "./run-record.ts";

/**
 * `pms report --runs`: the local runs on one offline page, the trend of every gate check's value
 * against its threshold across runs (is the model getting better, is a baseline catching up?), and
 * a table linking each run's report.
 */
export async function writeRunsReport(home: PmsHome): Promise<{ path: string; runs: number }> {
  const records = await listRunRecords(home);
  const path = join(home.root, "runs.html");
  await writeFile(path, await renderRunsPage(records));
  return { path, runs: records.length };
}

interface TrendPoint {
  readonly run: string;
  readonly started: string;
  readonly check: string;
  readonly series: "value" | "threshold";
  readonly value: number;
  readonly passed: boolean;
}

function trendPoints(records: readonly LocalRunRecord[]): TrendPoint[] {
  return [...records].reverse().flatMap((record) =>
    (record.gate?.checks ?? []).flatMap((check): TrendPoint[] => {
      const common = { run: record.runId, started: record.startedAt, check: check.name, passed: check.passed };
      // A check with nothing to compare (no champion yet) has no threshold worth drawing.
      const comparable = !/no champion|not comparable/.test(check.detail ?? "");
      return [
        { ...common, series: "value", value: check.value },
        ...(comparable ? [{ ...common, series: "threshold" as const, value: check.threshold }] : []),
      ];
    }),
  );
}

export function runsTrendSpec(points: readonly TrendPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "The gate's checks across runs (solid: the model's value; dashed: the check's threshold)",
    data: { values: points as unknown as Record<string, unknown>[] },
    facet: { row: { field: "check", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left" } } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 640,
      height: 140,
      mark: { type: "line", point: true, tooltip: true },
      encoding: {
        x: { field: "started", type: "temporal", title: "run started (UTC)" },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        strokeDash: {
          field: "series",
          type: "nominal",
          title: null,
          scale: {
            domain: ["value", "threshold"],
            range: [
              [1, 0],
              [4, 3],
            ],
          },
        },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          scale: { domain: ["value", "threshold"], range: ["#1f6feb", "#bc4c00"] },
        },
      },
    },
  } as TopLevelSpec;
}

export async function renderRunsPage(records: readonly LocalRunRecord[]): Promise<string> {
  const points = trendPoints(records);
  const chart =
    points.length > 0
      ? `<figure class="chart">${await renderSvg(runsTrendSpec(points))}</figure>`
      : `<p class="note">No run has reached the gate yet: \`pms run\` starts one.</p>`;
  const rows = records
    .map((record) => {
      const verdict = record.gate
        ? record.gate.passed
          ? `<span class="pass">passed</span>`
          : `<span class="fail">rejected</span>`
        : "—";
      const metric = (key: string) =>
        record.metrics?.[key] === undefined ? "—" : (record.metrics[key] as number).toFixed(4);
      const report = record.reportUri ? `<a href="${escapeHtml(pathToHref(record.reportUri))}">report</a>` : "";
      return `<tr><td><code>${escapeHtml(record.runId)}</code></td><td>${escapeHtml(record.startedAt.replace("T", " ").replace(/\..*$/, ""))}</td><td>${escapeHtml(record.status)}${record.error ? ` <small>${escapeHtml(record.error.name)}</small>` : ""}</td><td>${verdict}</td><td>${metric("hr@20")}</td><td>${metric("mrr@20")}</td><td>${record.deployed ? "deployed" : ""}</td><td>${report}</td></tr>`;
    })
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Local runs</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
  main { max-width: 1180px; margin: 0 auto; padding: 24px; }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; } th, td { border-bottom: 1px solid #d8dee4; padding: 6px 8px; text-align: left; }
  .pass { color: #116329; font-weight: 600; } .fail { color: #a40e26; font-weight: 600; } .note, small { color: #59636e; } figure { margin: 0; }
</style>
</head>
<body>
<main>
<h1>Local runs (${records.length})</h1>
<section><h2>Trend of the gate's metrics</h2>${chart}</section>
<section><h2>Runs, newest first</h2>
<table class="runs"><thead><tr><th>run</th><th>started (UTC)</th><th>status</th><th>gate</th><th>hr@20</th><th>mrr@20</th><th></th><th></th></tr></thead><tbody>${rows}</tbody></table>
</section>
</main>
</body>
</html>
`;
}

function pathToHref(path: string): string {
  return path.startsWith("/") ? `file://${encodeURI(path)}` : path;
}
