import type { TrainingMetrics } from "../../model/training-metrics.ts";
import type { DataDrift, DataProfile } from "../profile.ts";
import { wilsonInterval } from "../slices.ts";
import type { EvaluationSummary } from "../suite.ts";

/**
 * The report's sections that answer "should this model ship?" beyond the gate: how it stands
 * against the best baseline, its hyper-parameters, the slices with their counts, the data and its
 * drift, and worked examples.
 */

export const escapeHtml = (text: unknown) =>
  String(text).replace(
    /[&<>"']/g,
    (character) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] as string,
  );
const fixed = (value: number, digits = 4) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
const percent = (value: number, digits = 1) => `${(value * 100).toFixed(digits)}%`;
const signedPercent = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(1)}%`;

/**
 * One line on the model against the strongest baseline at the primary k: a model that does not beat
 * a baseline should say so plainly, whatever the gate's margins allowed.
 */
export function baselineVerdict(summary: EvaluationSummary): { readonly beats: boolean; readonly html: string } {
  const key = `hr@${summary.primaryK}`;
  const model = summary.challenger.metrics[key];
  const best = summary.baselines
    .filter((baseline) => baseline.metrics[key] !== undefined)
    .sort((a, b) => (b.metrics[key] as number) - (a.metrics[key] as number))[0];
  if (model === undefined || !best) return { beats: true, html: "" };
  const baseline = best.metrics[key] as number;
  const modelInterval = summary.challenger.intervals[key];
  const baselineInterval = best.intervals[key];
  const overlap =
    modelInterval && baselineInterval
      ? modelInterval.lower <= baselineInterval.upper && baselineInterval.lower <= modelInterval.upper
      : false;
  // MRR says whether the hits come early in the list: a baseline level on HR can still rank worse.
  const mrrKey = `mrr@${summary.primaryK}`;
  const modelMrr = summary.challenger.metrics[mrrKey];
  const baselineMrr = best.metrics[mrrKey];
  const mrr =
    modelMrr === undefined || baselineMrr === undefined
      ? ""
      : ` (${escapeHtml(mrrKey)}: ${fixed(modelMrr)} against ${fixed(baselineMrr)})`;
  if (model <= baseline) {
    const ranksBetter = modelMrr !== undefined && baselineMrr !== undefined && modelMrr > baselineMrr;
    return {
      beats: false,
      html: `<p class="verdict fail" id="baseline-verdict">The model does not beat the best baseline: ${escapeHtml(key)} ${fixed(model)} against ${escapeHtml(best.label)} ${fixed(baseline)}${mrr}. ${ranksBetter ? "It ranks the hits it finds higher; whether that is worth serving it over the baseline is a judgement, not a win." : `Serving ${escapeHtml(best.label)} would do as well.`}</p>`,
    };
  }
  return {
    beats: true,
    html: `<p class="verdict pass" id="baseline-verdict">The model beats the best baseline, ${escapeHtml(best.label)}: ${escapeHtml(key)} ${fixed(model)} against ${fixed(baseline)}${mrr} (${overlap ? "their 95% intervals overlap: the lead is not certain" : "their 95% intervals do not overlap"}).</p>`,
  };
}

const HYPERPARAMETER_MEANINGS: Record<string, string> = {
  epochs: "passes over the training sessions (at most)",
  embeddingDim: "item embedding size",
  hiddenDim: "GRU state size",
  maxLength: "most recent items of a session the model reads",
  batchSize: "sessions per mini-batch",
  learningRate: "Adam step size",
  negativeSamples: "sampled negatives per batch (0: full softmax)",
  dropout: "dropout on the GRU input and output",
  minItemCount: "items seen fewer times than this are out of vocabulary",
  patience: "epochs without improvement before stopping",
  seed: "random seed",
};

export function hyperparameterTable(
  hyperparameters: Readonly<Record<string, unknown>> | undefined,
  training: TrainingMetrics | undefined,
): string {
  const rows = Object.entries(hyperparameters ?? {}).map(
    ([name, value]) =>
      `<tr><th><code>${escapeHtml(name)}</code></th><td>${escapeHtml(value)}</td><td>${escapeHtml(HYPERPARAMETER_MEANINGS[name] ?? "")}</td></tr>`,
  );
  if (training) {
    rows.push(
      `<tr><th>kept epoch</th><td>${training.bestEpoch} of ${training.epochs.length}${training.stoppedEarly ? " (stopped early)" : ""}</td><td>best validation HR@20</td></tr>`,
    );
    if (training.blend)
      rows.push(
        `<tr><th>kNN weight</th><td>${fixed(training.blend.weight, 2)}</td><td>share of the session kNN in the blend, chosen on validation (GRU alone: HR@20 ${fixed(training.blend.gru["hr@20"])}; blend: ${fixed(training.blend.hybrid["hr@20"])})</td></tr>`,
      );
  }
  if (rows.length === 0) return `<p class="note">No hyper-parameters recorded.</p>`;
  return `<table class="hyperparameters"><thead><tr><th>parameter</th><th>value</th><th>meaning</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Per slice: each bucket's points and the model's HR@k with its 95% Wilson interval, beside the best baseline's. */
export function sliceTables(summary: EvaluationSummary): string {
  const k = summary.primaryK;
  const slices = [...new Set(summary.slices.map((row) => row.slice))];
  return slices
    .map((slice) => {
      const rows = summary.slices.filter((row) => row.slice === slice);
      const body = rows
        .map((row) => {
          const model = row.hitRate.model ?? 0;
          const interval = wilsonInterval(Math.round(model * row.points), row.points);
          const baselines = Object.entries(row.hitRate).filter(([label]) => label !== "model" && label !== "champion");
          const [bestLabel, bestValue] = baselines.sort(([, a], [, b]) => b - a)[0] ?? ["—", Number.NaN];
          return `<tr><td>${escapeHtml(row.bucket)}</td><td>${row.points}</td><td>${fixed(model, 3)} <small>${fixed(interval.lower, 3)}–${fixed(interval.upper, 3)}</small></td><td>${escapeHtml(bestLabel)} ${fixed(bestValue, 3)}</td></tr>`;
        })
        .join("");
      return `<table class="slices" data-slice="${escapeHtml(slice)}"><caption>${escapeHtml(slice)}</caption><thead><tr><th>bucket</th><th>points</th><th>model HR@${k} <small>95% Wilson</small></th><th>best baseline</th></tr></thead><tbody>${body}</tbody></table>`;
    })
    .join("");
}

function driftRow(name: string, now: string, before: string | undefined, change: string | undefined, flag: boolean) {
  return `<tr${flag ? ' class="drifted"' : ""}><th>${escapeHtml(name)}</th><td>${now}</td><td>${before ?? "—"}</td><td>${change ?? "—"}${flag ? " ⚠" : ""}</td></tr>`;
}

/** Relative changes beyond these are flagged in the drift table. */
const DRIFT_FLAGS = { relative: 0.25, newItemShare: 0.05, churn: 0.5 };

/** A measure whose change is relative (flagged beyond `DRIFT_FLAGS.relative`). */
function relativeDriftRow(
  name: string,
  now: number,
  before: number | undefined,
  change: number | undefined,
  digits: number,
): string {
  return driftRow(
    name,
    now.toFixed(digits),
    before?.toFixed(digits),
    change === undefined ? undefined : signedPercent(change),
    change !== undefined && Math.abs(change) > DRIFT_FLAGS.relative,
  );
}

export function profileSection(profile: DataProfile | undefined, drift: DataDrift | undefined): string {
  if (!profile) return `<p class="note">No data profile was recorded for this run.</p>`;
  const before = drift?.previous;
  const rows = [
    relativeDriftRow(
      "sessions per day",
      profile.sessionsPerDay,
      before?.sessionsPerDay,
      drift?.sessionsPerDayChange,
      1,
    ),
    relativeDriftRow(
      "mean session length",
      profile.meanSessionLength,
      before?.meanSessionLength,
      drift?.meanSessionLengthChange,
      2,
    ),
    driftRow(
      "median session length",
      String(profile.medianSessionLength),
      before ? String(before.medianSessionLength) : undefined,
      undefined,
      false,
    ),
    driftRow("distinct items", String(profile.items), before ? String(before.items) : undefined, undefined, false),
    driftRow(
      "share of new items in test",
      percent(profile.newItemShare),
      before ? percent(before.newItemShare) : undefined,
      drift
        ? `${drift.newItemShareChange >= 0 ? "+" : "−"}${Math.abs(drift.newItemShareChange * 100).toFixed(1)} pts`
        : undefined,
      drift ? Math.abs(drift.newItemShareChange) > DRIFT_FLAGS.newItemShare : false,
    ),
    driftRow(
      `top-${profile.topItems.length} item churn`,
      drift ? percent(drift.topItemChurn, 0) : "—",
      undefined,
      drift
        ? `${Math.round(drift.topItemChurn * profile.topItems.length)} of ${profile.topItems.length} new`
        : undefined,
      drift ? drift.topItemChurn > DRIFT_FLAGS.churn : false,
    ),
  ];
  const against = drift
    ? `against run <code>${escapeHtml(drift.previousRunId ?? "of the serving model")}</code> (the model serving now)`
    : "no previous run to compare with (no model is serving, or its run recorded no profile)";
  return `<p class="note">${profile.sessions} sessions over ${profile.days} day(s); drift ${against}. ⚠ marks a change beyond ${percent(DRIFT_FLAGS.relative, 0)} (new items: ${DRIFT_FLAGS.newItemShare * 100} points; churn: ${percent(DRIFT_FLAGS.churn, 0)}).</p>
<table class="profile"><thead><tr><th>measure</th><th>this run</th><th>previous run</th><th>change</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

export function examplesSection(summary: EvaluationSummary): string {
  const examples = summary.examples ?? [];
  if (examples.length === 0) return `<p class="note">No worked examples.</p>`;
  const rows = examples
    .map((example) => {
      const prefix = `${example.omitted > 0 ? `… ${example.omitted} more, ` : ""}${example.prefix.map((sku) => `<code>${escapeHtml(sku)}</code>`).join(" → ")}`;
      const top = example.recommendations
        .slice(0, 10)
        .map((sku) => `<code${sku === example.target ? ' class="target"' : ""}>${escapeHtml(sku)}</code>`)
        .join(" ");
      const outcome =
        example.rank === null ? `<span class="fail">miss</span>` : `<span class="pass">hit at ${example.rank}</span>`;
      return `<tr><td>${prefix}</td><td><code>${escapeHtml(example.target)}</code></td><td>${outcome}</td><td>${top}${example.recommendations.length > 10 ? " …" : ""}</td></tr>`;
    })
    .join("");
  return `<table class="examples"><thead><tr><th>session so far (last items)</th><th>next item</th><th>top ${summary.primaryK}</th><th>the model's first 10 (the next item marked)</th></tr></thead><tbody>${rows}</tbody></table>`;
}
