import type { ModelMetadata } from "../../model/load.ts";
import type { TrainingMetrics } from "../../model/training-metrics.ts";
import type { DataManifest } from "../../pipeline/contracts.ts";
import type { EvaluationSummary, RecommenderSummary } from "../suite.ts";
import { championDifferenceSpec, comparisonSpec, renderSvg, sliceSpec, trainingCurvesSpec } from "./charts.ts";
import {
  baselineVerdict,
  escapeHtml,
  examplesSection,
  hyperparameterTable,
  profileSection,
  sliceTables,
} from "./sections.ts";

/** What the report says about the run around the figures. */
export interface ReportMetadata {
  readonly runId: string;
  readonly executionName: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly window: { readonly start: string; readonly end: string };
  readonly tenant: string;
  readonly deploy: string;
  /** The evaluated model: trained without the test span, the one these figures are of. */
  readonly modelUri: string;
  /** The served model: the same training on the whole window, the one registered and deployed. */
  readonly servedModelUri?: string;
  readonly hyperparameters?: Readonly<Record<string, unknown>>;
  /** Where inference ran for this evaluation, and what trained the model. */
  readonly backend?: string;
  readonly model?: ModelMetadata;
  readonly manifest?: DataManifest;
  readonly trainingMetrics?: TrainingMetrics;
  readonly generatedAt: string;
}

const number = (value: number | undefined, digits = 4) =>
  value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits);

/** Which model is served and what it learned from, beside the evaluated one whose figures the report shows. */
function servedModelLine(metadata: ReportMetadata): string | undefined {
  if (!metadata.servedModelUri) return undefined;
  const splits = metadata.manifest?.splits;
  const span = splits
    ? ` (learned from train + test, ${splits.train.sessions + splits.test.sessions} sessions, ${splits.train.firstDay ?? "?"}…${splits.test.lastDay ?? "?"})`
    : " (learned from train + test)";
  return `${metadata.servedModelUri}${span}: the same training with the test span added, checked against the evaluated model on the validation sample before registration`;
}

function definitionList(entries: [string, unknown][]): string {
  return `<dl>${entries
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join("")}</dl>`;
}

function verdict(passed: boolean | undefined): string {
  if (passed === undefined) return `<span class="info">info</span>`;
  return passed ? `<span class="pass">pass</span>` : `<span class="fail">fail</span>`;
}

function metricsTable(summary: EvaluationSummary): string {
  const rows: RecommenderSummary[] = [summary.challenger];
  if (summary.champion && Object.keys(summary.champion.metrics).length > 0) {
    rows.push({
      label: "champion",
      name: summary.champion.description,
      role: "champion",
      metrics: summary.champion.metrics,
      intervals: summary.champion.intervals,
      seconds: 0,
    });
  }
  rows.push(...summary.baselines);
  // One table per k keeps each readable at report width.
  return summary.ks
    .map((k) => {
      const keys = ["hr", "mrr", "ndcg", "coverage", "popularityBias"].map((metric) => `${metric}@${k}`);
      const head = `<tr><th>recommender</th>${keys.map((key) => `<th>${escapeHtml(key)}</th>`).join("")}</tr>`;
      const body = rows
        .map((row) => {
          const cells = keys.map((key) => {
            const interval = row.intervals[key];
            const digits = key.startsWith("popularityBias") ? 1 : 4;
            const range = interval ? `<small>${number(interval.lower)}–${number(interval.upper)}</small>` : "";
            return `<td>${number(row.metrics[key], digits)}${range}</td>`;
          });
          return `<tr class="${row.role}"><th title="${escapeHtml(row.name)}">${escapeHtml(row.label)}</th>${cells.join("")}</tr>`;
        })
        .join("");
      return `<table class="metrics"><thead>${head}</thead><tbody>${body}</tbody></table>`;
    })
    .join("");
}

function testsTable(summary: EvaluationSummary): string {
  const gateRows = summary.gate.checks.map(
    (check) =>
      `<tr><td>gate</td><td><code>${escapeHtml(check.name)}</code></td><td>${number(check.value)}</td><td>${number(check.threshold)}</td><td>${verdict(check.passed)}</td><td>${escapeHtml(check.detail ?? "")}</td></tr>`,
  );
  const behaviouralRows = summary.behavioural.map(
    (test) =>
      `<tr><td>behaviour</td><td><b>${escapeHtml(test.name)}</b><br><small>${escapeHtml(test.description)}</small></td><td>${number(test.value, 3)}</td><td>${test.threshold === undefined ? "—" : number(test.threshold, 3)}</td><td>${verdict(test.passed)}</td><td>${escapeHtml(test.detail)}</td></tr>`,
  );
  return `<table class="tests"><thead><tr><th>kind</th><th>test</th><th>value</th><th>threshold</th><th>verdict</th><th>detail</th></tr></thead><tbody>${[...gateRows, ...behaviouralRows].join("")}</tbody></table>`;
}

const figure = (svg: string, caption: string) =>
  `<figure class="chart">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;

/** The whole report as one HTML string: inline CSS and SVG, no script, nothing fetched. */
export async function renderReportHtml(summary: EvaluationSummary, metadata: ReportMetadata): Promise<string> {
  const k = summary.primaryK;
  const charts: string[] = [
    figure(
      await renderSvg(comparisonSpec(summary)),
      `Bars: the metric over ${summary.points.scored} test points; whiskers: 95% percentile bootstrap interval.`,
    ),
  ];
  const difference = championDifferenceSpec(summary);
  if (difference) {
    charts.push(
      figure(
        await renderSvg(difference),
        "Green: the whole interval is above zero (the model is better); red otherwise. Orange tick: the gate's margin, which the interval's lower bound must clear.",
      ),
    );
  }
  const sliceNames = [...new Set(summary.slices.map((row) => row.slice))];
  const sliceCharts: string[] = [];
  for (const slice of sliceNames) {
    sliceCharts.push(figure(await renderSvg(sliceSpec(summary, slice)), `HR@${k} per ${slice} bucket.`));
  }
  const training = metadata.trainingMetrics
    ? figure(
        await renderSvg(trainingCurvesSpec(metadata.trainingMetrics)),
        "Left: mean training loss per epoch. Right: validation HR@20 and MRR@20 of the GRU alone per epoch; diamonds: the model kept (the GRU at the dashed epoch blended with the session kNN), which is what serves.",
      )
    : `<p class="note">No training-metrics.json was found next to the model: no training curves.</p>`;

  const manifest = metadata.manifest;
  const passed = summary.gate.passed;
  const hyperparameters =
    metadata.hyperparameters ?? metadata.model?.hyperparameters ?? metadata.trainingMetrics?.hyperparameters;
  const title = `Evaluation of run ${metadata.runId}`;
  const againstBaseline = baselineVerdict(summary);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
  main { max-width: 1180px; margin: 0 auto; padding: 24px; }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 12px; }
  .banner { font-size: 16px; font-weight: 600; padding: 10px 14px; border-radius: 6px; }
  .banner.pass { background: #dafbe1; color: #116329; } .banner.fail { background: #ffebe9; color: #a40e26; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
  dt { color: #59636e; } dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; word-break: break-all; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { border-bottom: 1px solid #d8dee4; padding: 6px 8px; text-align: left; vertical-align: top; }
  table.metrics { margin-top: 12px; } table.metrics td { text-align: right; white-space: nowrap; } table.metrics small { display: block; color: #59636e; }
  tr.challenger th { color: #1f6feb; } tr.champion th { color: #d1242f; }
  .pass { color: #116329; font-weight: 600; } .fail { color: #a40e26; font-weight: 600; } .info { color: #59636e; }
  small { color: #59636e; } .scroll { overflow-x: auto; }
  .charts { display: flex; flex-wrap: wrap; gap: 16px; } figure.chart { margin: 0; } figcaption { color: #59636e; font-size: 12px; max-width: 640px; }
  .note { color: #59636e; } ul.notes { margin: 0; padding-left: 18px; }
  .verdict { font-weight: 600; padding: 8px 14px; border-radius: 6px; margin: 8px 0 0; } .verdict.pass { background: #ddf4ff; color: #0a3069; } .verdict.fail { background: #fff1e5; color: #953800; }
  .slice-tables { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 12px; } table.slices { width: auto; } caption { text-align: left; font-weight: 600; }
  code.target { background: #dafbe1; color: #116329; font-weight: 600; } table.examples code { font-size: 11.5px; }
  tr.drifted td { color: #953800; font-weight: 600; }
  .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; } @media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="note">Generated ${escapeHtml(metadata.generatedAt)} in ${summary.seconds.toFixed(1)} s · execution <code>${escapeHtml(metadata.executionName)}</code></p>
<div class="banner ${passed ? "pass" : "fail"}">${passed ? "Quality gate passed" : "Quality gate failed"} — deploy mode <code>${escapeHtml(metadata.deploy)}</code>${
    passed ? "" : `<br><small>${summary.gate.reasons.map(escapeHtml).join("<br>")}</small>`
  }</div>
${againstBaseline.html}

<section><h2>Tests</h2>${testsTable(summary)}</section>

<section><h2>Model vs baselines${summary.champion ? " vs champion" : ""}</h2>
<div class="charts">${charts.join("")}</div>
${metricsTable(summary)}
<p class="note">coverage@k: share of the ${summary.training.items} training items recommended in any top k. popularityBias@k: mean training count of the recommended items (ARP). Intervals: 95% percentile bootstrap, ${summary.points.scored} points.</p>
</section>

<section><h2>Hits by slice</h2><div class="charts">${sliceCharts.join("")}</div>
<p class="note">Each bucket's label gives its test points (n); whiskers: 95% Wilson interval of the hit rate.</p>
<div class="slice-tables">${sliceTables(summary)}</div></section>

<section><h2>Worked examples</h2>${examplesSection(summary)}</section>

<section><h2>Data profile and drift</h2>${profileSection(summary.profile, summary.drift)}</section>

<section><h2>Training</h2>${training}
<h2 style="margin-top:16px">Hyper-parameters</h2>${hyperparameterTable(hyperparameters, metadata.trainingMetrics)}</section>

<section><h2>Run</h2>
<div class="columns">
<div>${definitionList([
    ["run", metadata.runId],
    ["execution", metadata.executionName],
    ["trigger", metadata.trigger],
    ["started", metadata.startedAt],
    ["data window", `${metadata.window.start} … ${metadata.window.end}`],
    ["tenant", metadata.tenant],
    ["evaluated model", metadata.modelUri],
    ["served model", servedModelLine(metadata)],
    ["recommender", summary.challenger.name],
    ["backend", metadata.backend],
    ["trained on", metadata.model?.trainedOn ?? metadata.trainingMetrics?.backend],
    ["code version", metadata.model?.codeVersion ?? metadata.trainingMetrics?.codeVersion],
    ["champion", summary.champion ? `${summary.champion.description} (${summary.champion.note})` : "none serving"],
  ])}</div>
<div>${definitionList([
    [
      "test points",
      `${summary.points.scored} scored of ${summary.points.total} (${summary.points.testSessions} test sessions)`,
    ],
    [
      "training",
      `${summary.training.sessions} sessions, ${summary.training.events} events, ${summary.training.items} items`,
    ],
    ["manifest hash", manifest?.contentHash],
    [
      "splits",
      manifest
        ? (["train", "validation", "test"] as const)
            .map(
              (split) =>
                `${split} ${manifest.splits[split].sessions} sessions ${manifest.splits[split].firstDay ?? "?"}…${manifest.splits[split].lastDay ?? "?"}`,
            )
            .join("; ")
        : undefined,
    ],
  ])}</div>
</div>
${summary.notes.length > 0 ? `<h2 style="margin-top:16px">Notes</h2><ul class="notes">${summary.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>` : ""}
</section>
</main>
</body>
</html>
`;
}
