import * as vega from "vega";
import * as vegaLite from "vega-lite";
import type { TrainingMetrics } from "../../model/training-metrics.ts";
import { parseGate } from "../gate-expression.ts";
import { metricKey } from "../metrics.ts";
import { wilsonInterval } from "../slices.ts";
import type { EvaluationSummary, RecommenderSummary } from "../suite.ts";

/**
 * The report's charts: vega-lite specs compiled to vega and rendered to SVG on the server
 * (renderer "none", no DOM, no canvas), so the HTML carries its pictures inline and needs neither a
 * browser-side library nor a network.
 */

type Spec = vegaLite.TopLevelSpec;

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const CONFIG = {
  font: FONT,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" as const },
};

/** Consistent colours: the model stands out, baselines are muted, the champion is its rival. */
const ROLE_COLOURS: Record<string, string> = {
  model: "#1f6feb",
  champion: "#d1242f",
  popularity: "#9aa4ae",
  cooccurrence: "#6e7781",
  sknn: "#3b434b",
};
const colourScale = (labels: readonly string[]) => ({
  domain: [...labels],
  range: labels.map((label) => ROLE_COLOURS[label] ?? "#8250df"),
});

export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = vegaLite.compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as Spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function recommenders(summary: EvaluationSummary): RecommenderSummary[] {
  const champion = summary.champion;
  const championRow: RecommenderSummary[] =
    champion && Object.keys(champion.metrics).length > 0
      ? [
          {
            label: "champion",
            name: champion.description,
            role: "champion",
            metrics: champion.metrics,
            intervals: champion.intervals,
            seconds: 0,
          },
        ]
      : [];
  return [summary.challenger, ...championRow, ...summary.baselines];
}

/** HR, MRR and NDCG at the primary k for every recommender, with 95% bootstrap intervals. */
export function comparisonSpec(summary: EvaluationSummary): Spec {
  const k = summary.primaryK;
  const rows = recommenders(summary).flatMap((recommender) =>
    (["hr", "mrr", "ndcg"] as const).flatMap((metric) => {
      const key = `${metric}@${k}`;
      const value = recommender.metrics[key];
      if (value === undefined) return [];
      const interval = recommender.intervals[key];
      return [
        {
          recommender: recommender.label,
          metric: key,
          value,
          lower: interval?.lower ?? value,
          upper: interval?.upper ?? value,
        },
      ];
    }),
  );
  const labels = [...new Set(rows.map((row) => row.recommender))];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Model vs baselines${summary.champion ? " vs champion" : ""} (95% bootstrap intervals)`,
    data: { values: rows },
    facet: {
      column: { field: "metric", type: "nominal", title: null, sort: ["hr", "mrr", "ndcg"].map((m) => `${m}@${k}`) },
    },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 200,
      height: 220,
      layer: [
        {
          mark: { type: "bar", tooltip: true },
          encoding: {
            x: { field: "recommender", type: "nominal", sort: labels, title: null, axis: { labelAngle: -30 } },
            y: { field: "value", type: "quantitative", title: null },
            color: { field: "recommender", type: "nominal", scale: colourScale(labels), legend: null },
          },
        },
        {
          mark: { type: "errorbar", ticks: true, color: "#111" },
          encoding: {
            x: { field: "recommender", type: "nominal", sort: labels },
            y: { field: "lower", type: "quantitative" },
            y2: { field: "upper" },
          },
        },
      ],
    },
  } as Spec;
}

/** Paired difference challenger − champion per metric, with its interval and the zero line. */
export function championDifferenceSpec(summary: EvaluationSummary): Spec | undefined {
  const differences = Object.entries(summary.champion?.differences ?? {});
  if (differences.length === 0) return undefined;
  const rows = differences.map(([metric, interval]) => ({ metric, ...interval }));
  // The gate's champion checks (`hr@20 >= champion - 0.01`): the interval's lower bound must clear the margin.
  const margins = parseGate(summary.gate.checks.map((check) => check.name)).flatMap((check) =>
    check.operand.kind === "reference" && check.operand.reference === "champion"
      ? [{ metric: metricKey(check.metric, check.k), margin: check.operand.margin }]
      : [],
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Model − champion on today's points (paired bootstrap, 95%); orange: the gate's margin",
    width: 420,
    height: { step: 28 },
    data: { values: rows },
    layer: [
      { mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: "errorbar", ticks: true, color: "#111" },
        encoding: {
          y: { field: "metric", type: "nominal", title: null },
          x: { field: "lower", type: "quantitative", title: "difference" },
          x2: { field: "upper" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 70, tooltip: true },
        encoding: {
          y: { field: "metric", type: "nominal" },
          x: { field: "mean", type: "quantitative" },
          color: {
            condition: { test: "datum.lower > 0", value: "#1a7f37" },
            value: "#d1242f",
          },
        },
      },
      ...(margins.length > 0
        ? [
            {
              data: { values: margins },
              mark: { type: "tick", color: "#bc4c00", thickness: 3, tooltip: true },
              encoding: {
                y: { field: "metric", type: "nominal" },
                x: { field: "margin", type: "quantitative" },
              },
            },
          ]
        : []),
    ],
  } as Spec;
}

/** HR@k per bucket of one slice, grouped by recommender, with 95% Wilson intervals; each bucket says how many points it holds. */
export function sliceSpec(summary: EvaluationSummary, slice: string): Spec {
  const rows = summary.slices
    .filter((row) => row.slice === slice)
    .flatMap((row) =>
      Object.entries(row.hitRate).map(([recommender, hitRate]) => {
        const interval = wilsonInterval(Math.round(hitRate * row.points), row.points);
        return {
          bucket: `${row.bucket} (n=${row.points})`,
          recommender,
          hitRate,
          points: row.points,
          lower: interval.lower,
          upper: interval.upper,
        };
      }),
    );
  const buckets = [...new Set(rows.map((row) => row.bucket))];
  const labels = [...new Set(rows.map((row) => row.recommender))];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `HR@${summary.primaryK} by ${slice}`,
    width: Math.max(260, buckets.length * labels.length * 11),
    height: 200,
    data: { values: rows },
    encoding: {
      x: { field: "bucket", type: "nominal", sort: buckets, title: `${slice} (points)`, axis: { labelAngle: -20 } },
      xOffset: { field: "recommender", type: "nominal", sort: labels },
    },
    layer: [
      {
        mark: { type: "bar", tooltip: true },
        encoding: {
          y: { field: "hitRate", type: "quantitative", title: `HR@${summary.primaryK}` },
          color: { field: "recommender", type: "nominal", scale: colourScale(labels), sort: labels, title: null },
        },
      },
      {
        mark: { type: "rule", color: "#111" },
        encoding: { y: { field: "lower", type: "quantitative" }, y2: { field: "upper" } },
      },
    ],
  } as Spec;
}

/** Training loss and validation HR@20 / MRR@20 per epoch, the kept epoch marked. */
export function trainingCurvesSpec(metrics: TrainingMetrics): Spec {
  const loss = metrics.epochs.map((epoch) => ({ epoch: epoch.epoch, value: epoch.loss }));
  const validation = metrics.epochs.flatMap((epoch) => [
    { epoch: epoch.epoch, metric: "hr@20", value: epoch.validation["hr@20"] },
    { epoch: epoch.epoch, metric: "mrr@20", value: epoch.validation["mrr@20"] },
  ]);
  const best = [{ epoch: metrics.bestEpoch }];
  // The model kept is the GRU blended with the session kNN: its validation figures, at the kept epoch.
  const kept = metrics.blend
    ? [
        { epoch: metrics.bestEpoch, metric: "hr@20", value: metrics.blend.hybrid["hr@20"] },
        { epoch: metrics.bestEpoch, metric: "mrr@20", value: metrics.blend.hybrid["mrr@20"] },
      ]
    : [];
  const bestRule = {
    data: { values: best },
    mark: { type: "rule", color: "#1a7f37", strokeDash: [4, 3] },
    encoding: { x: { field: "epoch", type: "quantitative" } },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `Training (${metrics.backend}${metrics.device ? `, ${metrics.device}` : ""}; kept epoch ${metrics.bestEpoch})`,
    hconcat: [
      {
        width: 300,
        height: 200,
        layer: [
          {
            data: { values: loss },
            mark: { type: "line", point: true, tooltip: true },
            encoding: {
              x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
              y: { field: "value", type: "quantitative", title: "training loss", scale: { zero: false } },
            },
          },
          bestRule,
        ],
      },
      {
        width: 300,
        height: 200,
        layer: [
          {
            data: { values: validation },
            mark: { type: "line", point: true, tooltip: true },
            encoding: {
              x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
              y: { field: "value", type: "quantitative", title: "validation (lines: GRU alone)" },
              color: { field: "metric", type: "nominal", title: null },
            },
          },
          ...(kept.length > 0
            ? [
                {
                  data: { values: kept },
                  mark: { type: "point", shape: "diamond", size: 140, filled: true, tooltip: true },
                  encoding: {
                    x: { field: "epoch", type: "quantitative" },
                    y: { field: "value", type: "quantitative" },
                    color: { field: "metric", type: "nominal", title: null },
                  },
                },
              ]
            : []),
          bestRule,
        ],
      },
    ],
  } as Spec;
}
