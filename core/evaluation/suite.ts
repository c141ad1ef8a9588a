import { CooccurrenceRecommender } from "../baselines/cooccurrence.ts";
import { countItems, PopularityRecommender } from "../baselines/popularity.ts";
import { type SknnOptions, SknnRecommender, type TimedSession } from "../baselines/sknn.ts";
import { MAX_NEIGHBOUR_SESSIONS } from "../model/neighbours.ts";
import type { Recommender } from "../model/recommender.ts";
import { type BehaviouralTest, type BehaviouralTestName, runBehaviouralTests } from "./behavioural.ts";
import { bootstrapMeans, type Interval, pairedDifferences, seededRandom } from "./bootstrap.ts";
import type { Champion } from "./champion.ts";
import { type BestBaseline, type ChampionValues, evaluateGate, type GateEvaluation } from "./gate.ts";
import { type BaselineName, type GateReference, parseGate } from "./gate-expression.ts";
import {
  DEFAULT_KS,
  metricKey,
  type PointMetric,
  perPointValues,
  type ScoredRecommender,
  type SessionLike,
  scoreRecommender,
  sessionItems,
  type TestPoint,
  testPoints,
} from "./metrics.ts";
import { compareProfiles, type DataDrift, type DataProfile, profileData } from "./profile.ts";
import {
  attributeSlice,
  hitsBySlice,
  popularityDecileSlice,
  prefixLengthSlice,
  type SliceDefinition,
  type SliceRow,
  sessionLengthSlice,
} from "./slices.ts";

export interface SuiteOptions {
  /** Cut-offs computed for every recommender; the gate's own k are added. @default [10, 20] */
  readonly ks?: readonly number[];
  /** Sessions per recommend call. @default 512 */
  readonly batchSize?: number;
  /**
   * Above this many test points a seeded uniform sample is scored. Bounds the Lambda's time: the
   * model and the champion are each scored on every point (the 95% interval of HR@20 is about
   * ±0.004 at 50k points, enough for a gate). @default 50000
   */
  readonly maxPoints?: number;
  /** Most recent prefix items a point keeps. @default 50 */
  readonly maxPrefixLength?: number;
  /**
   * The baselines are fitted on at most this many training sessions, the most recent ones (the
   * served model's kNN keeps as many). Bounds the Lambda's memory: the baselines' indexes over the
   * training split grew by about 180 MiB per 100k sessions in the benchmark, so a full RSC15 window
   * (8M sessions) would not fit in 10 GB (docs/infra.md, "At scale"). @default MAX_NEIGHBOUR_SESSIONS (500,000)
   */
  readonly maxTrainingSessions?: number;
  /** Resamples of the champion differences (and of the chart's intervals, budget permitting). @default 1000 */
  readonly bootstrapResamples?: number;
  /** Points × series × resamples allowed for the chart's per-recommender intervals. @default 300000000 */
  readonly bootstrapBudget?: number;
  /** @default 42 */
  readonly seed?: number;
  /** V-SkNN's settings, or false to leave it out. */
  readonly sknn?: SknnOptions | false;
  /** V-SkNN is skipped above this many training events (its index would outgrow the function). @default 20000000 */
  readonly maxSknnEvents?: number;
  /** Points per behavioural test. @default 1000 */
  readonly behaviouralSample?: number;
  readonly behaviouralThresholds?: Partial<Record<BehaviouralTestName, number>>;
  /** Progress lines (the handler passes its logger). */
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface SuiteInput {
  readonly challenger: Recommender;
  readonly trainSessions: readonly TimedSession[];
  readonly testSessions: readonly SessionLike[];
  readonly gate: readonly string[];
  /** The model serving now; `recommender` when its artifact could be loaded, `loadError` when not. */
  readonly champion?: { readonly info: Champion; readonly recommender?: Recommender; readonly loadError?: string };
  /** Product attributes by SKU (category, price bucket…), when a products table exists. */
  readonly itemAttributes?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The data profile of the previous run (the run of the model serving now), to measure drift against. */
  readonly previousProfile?: { readonly profile: DataProfile; readonly runId?: string };
  readonly options?: SuiteOptions;
}

/** How the report and the slices name the model under evaluation and the champion. */
export const CHALLENGER_LABEL = "model";
export const CHAMPION_LABEL = "champion";

export interface RecommenderSummary {
  /** `model`, a baseline's name, or `champion`. */
  readonly label: string;
  /** The recommender's own name (e.g. the model's architecture). */
  readonly name: string;
  readonly role: "challenger" | "baseline" | "champion";
  readonly metrics: Record<string, number>;
  /** Bootstrap interval of the mean, for hr@k, mrr@k and ndcg@k at the primary k. */
  readonly intervals: Record<string, Interval>;
  readonly seconds: number;
}

export interface ChampionSummary {
  readonly description: string;
  readonly modelUri?: string;
  /** True when re-scored on today's points; false when its stored metrics stand in. */
  readonly rescored: boolean;
  readonly metrics: Record<string, number>;
  /** Its own intervals when re-scored. */
  readonly intervals: Record<string, Interval>;
  readonly storedMetrics?: Readonly<Record<string, number>>;
  /** challenger − champion, paired bootstrap over today's points (empty when not re-scored). */
  readonly differences: Record<string, Interval>;
  readonly note: string;
}

/** Everything the Evaluate stage measured: `metrics.json`, and the report's input. */
export interface EvaluationSummary {
  readonly ks: number[];
  /** The k of the intervals, slices and behavioural tests (20 unless not computed). */
  readonly primaryK: number;
  readonly points: {
    readonly total: number;
    readonly scored: number;
    readonly testSessions: number;
    readonly sampled: boolean;
  };
  readonly training: { readonly sessions: number; readonly events: number; readonly items: number };
  readonly challenger: RecommenderSummary;
  readonly baselines: RecommenderSummary[];
  readonly champion: ChampionSummary | null;
  /**
   * Per metric key a `best-baseline` check uses: the strongest baseline by that metric and the
   * paired-bootstrap interval of challenger − it (none for coverage, which is not a per-point mean).
   */
  readonly bestBaselines: Record<string, BestBaseline>;
  readonly slices: SliceRow[];
  readonly behavioural: BehaviouralTest[];
  readonly gate: GateEvaluation;
  /** Sessions per day, session length, cold items, top items of this run's data. */
  readonly profile?: DataProfile;
  /** The profile against the previous run's, when one was found. */
  readonly drift?: DataDrift;
  /** A few test points with the model's top-k: what a hit and a miss look like. */
  readonly examples?: WorkedExample[];
  readonly notes: string[];
  readonly seconds: number;
}

export interface WorkedExample {
  /** The last items of the session before the target, oldest first. */
  readonly prefix: readonly string[];
  /** Items of the prefix left out of `prefix`, at its start. */
  readonly omitted: number;
  readonly target: string;
  /** The model's top `k`, best first. */
  readonly recommendations: readonly string[];
  /** 1-based rank of the target in `recommendations`, or null for a miss. */
  readonly rank: number | null;
}

/** Worked examples in the report, and the items of each shown. */
const EXAMPLES = 5;
const EXAMPLE_PREFIX_ITEMS = 5;

/** A few points spread over the test split (seeded), with the model's top-k for each. */
async function workedExamples(
  model: Recommender,
  points: readonly TestPoint[],
  k: number,
  seed: number,
): Promise<WorkedExample[]> {
  const random = seededRandom(seed + 1);
  const chosen = new Set<number>();
  for (let attempt = 0; attempt < EXAMPLES * 10 && chosen.size < Math.min(EXAMPLES, points.length); attempt++)
    chosen.add(Math.floor(random() * points.length));
  const picked = [...chosen].sort((a, b) => a - b).map((index) => points[index] as TestPoint);
  const lists = await model.recommend(
    picked.map((point) => point.prefix),
    k,
  );
  return picked.map((point, index) => {
    const recommendations = (lists[index] ?? []).map((recommendation) => recommendation.sku);
    const position = recommendations.indexOf(point.target);
    return {
      prefix: point.prefix.slice(-EXAMPLE_PREFIX_ITEMS),
      omitted: Math.max(0, point.prefix.length - EXAMPLE_PREFIX_ITEMS),
      target: point.target,
      recommendations,
      rank: position < 0 ? null : position + 1,
    };
  });
}

const POINT_METRICS: PointMetric[] = ["hr", "mrr", "ndcg"];

/** The `limit` most recent sessions by start time (ties and untimed sessions keep their order). */
function mostRecentSessions(sessions: readonly TimedSession[], limit: number): readonly TimedSession[] {
  if (sessions.length <= limit) return sessions;
  return sessions
    .map((session, index) => ({ session, index }))
    .sort((a, b) => (a.session.session_start_ms ?? 0) - (b.session.session_start_ms ?? 0) || a.index - b.index)
    .slice(-limit)
    .map(({ session }) => session);
}

function samplePoints(points: TestPoint[], max: number, seed: number): TestPoint[] {
  if (points.length <= max) return points;
  const random = seededRandom(seed);
  const keep = new Uint8Array(points.length);
  let kept = 0;
  // Selection sampling (Knuth's algorithm S): exactly `max` points, order preserved.
  for (let index = 0; index < points.length && kept < max; index++) {
    if (random() * (points.length - index) < max - kept) {
      keep[index] = 1;
      kept++;
    }
  }
  return points.filter((_, index) => keep[index] === 1);
}

/** The perturbation test's "similar item": the most popular other item of the same category, if a category exists. */
function similarItemFinder(
  itemCounts: ReadonlyMap<string, number>,
  attributes: SuiteInput["itemAttributes"],
  cooccurrence: CooccurrenceRecommender,
): { similarItem: (sku: string) => string | undefined; similarity: string } {
  const hasCategory = attributes && [...attributes.values()].some((row) => row.category);
  if (!attributes || !hasCategory) {
    return {
      similarItem: (sku) => cooccurrence.nearestNeighbour(sku),
      similarity: "the item most often clicked right after it in training (no product categories available)",
    };
  }
  const byCategory = new Map<string, string[]>();
  for (const [sku, row] of attributes) {
    if (!row.category || !itemCounts.has(sku)) continue;
    const list = byCategory.get(row.category) ?? [];
    list.push(sku);
    byCategory.set(row.category, list);
  }
  for (const list of byCategory.values()) list.sort((a, b) => (itemCounts.get(b) ?? 0) - (itemCounts.get(a) ?? 0));
  return {
    similarItem: (sku) => {
      const category = attributes.get(sku)?.category;
      return category ? byCategory.get(category)?.find((other) => other !== sku) : undefined;
    },
    similarity: "the most popular other item of the same category",
  };
}

/**
 * Scores the challenger, the baselines and the champion on the same test points, runs the
 * behavioural tests, bootstraps intervals and evaluates the gate.
 */
export async function runEvaluationSuite(input: SuiteInput): Promise<EvaluationSummary> {
  const started = performance.now();
  const options = input.options ?? {};
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 42;
  const gateChecks = parseGate(input.gate);
  const ks = [...new Set([...(options.ks ?? DEFAULT_KS), ...gateChecks.map((check) => check.k)])].sort((a, b) => a - b);
  const primaryK = ks.includes(20) ? 20 : (ks[ks.length - 1] as number);
  const notes: string[] = [];

  const allPoints = testPoints(input.testSessions, { maxPrefixLength: options.maxPrefixLength ?? 50 });
  if (allPoints.length === 0) {
    throw new EvaluationDataError("The test split has no session with two or more items: nothing to evaluate");
  }
  const points = samplePoints(allPoints, options.maxPoints ?? 50_000, seed);
  if (points.length < allPoints.length) {
    notes.push(`${allPoints.length} test points; a seeded uniform sample of ${points.length} was scored.`);
  }
  const trainSessions = mostRecentSessions(input.trainSessions, options.maxTrainingSessions ?? MAX_NEIGHBOUR_SESSIONS);
  if (trainSessions.length < input.trainSessions.length) {
    notes.push(
      `${input.trainSessions.length} training sessions; the baselines were fitted on the ${trainSessions.length} most recent.`,
    );
  }
  const itemCounts = countItems(trainSessions);
  const trainingEvents = trainSessions.reduce((sum, session) => sum + sessionItems(session).length, 0);
  const scoreOptions = { ks, itemCounts, batchSize: options.batchSize ?? 512 };

  log("Scoring the challenger", { points: points.length, recommender: input.challenger.name });
  const challenger = await scoreRecommender(input.challenger, points, scoreOptions);

  const cooccurrence = CooccurrenceRecommender.fromSessions(trainSessions);
  const baselineRecommenders: Recommender[] = [PopularityRecommender.fromSessions(trainSessions), cooccurrence];
  const missing: Partial<Record<GateReference, string>> = {};
  const maxSknnEvents = options.maxSknnEvents ?? 20_000_000;
  if (options.sknn === false) {
    missing.sknn = "V-SkNN was turned off for this evaluation";
  } else if (trainingEvents > maxSknnEvents) {
    missing.sknn = `V-SkNN skipped: ${trainingEvents} training events exceed the limit of ${maxSknnEvents}`;
  } else {
    baselineRecommenders.push(new SknnRecommender(trainSessions, options.sknn || {}));
  }
  if (missing.sknn) notes.push(missing.sknn);
  const baselines: ScoredRecommender[] = [];
  for (const baseline of baselineRecommenders) {
    log("Scoring a baseline", { recommender: baseline.name });
    baselines.push(await scoreRecommender(baseline, points, scoreOptions));
  }

  let championScored: ScoredRecommender | undefined;
  if (input.champion?.recommender) {
    log("Re-scoring the champion", { champion: input.champion.info.description });
    championScored = await scoreRecommender(input.champion.recommender, points, scoreOptions);
  }

  // One shared resampling: every interval and paired difference comes from the same draws.
  const intervalKeys = POINT_METRICS.map((metric) => ({ metric, k: primaryK }));
  const championKeys = [
    ...intervalKeys,
    ...gateChecks
      .filter((check) => check.operand.kind === "reference" && check.operand.reference === "champion")
      .filter((check) => check.metric !== "coverage")
      .map((check) => ({ metric: check.metric as PointMetric, k: check.k })),
  ].filter(
    (entry, index, all) =>
      all.findIndex((other) => metricKey(other.metric, other.k) === metricKey(entry.metric, entry.k)) === index,
  );
  // Labels, not recommender names, key everything below: a challenger may share its name with the champion.
  const labelled: [string, ScoredRecommender][] = [
    [CHALLENGER_LABEL, challenger],
    ...baselines.map((baseline): [string, ScoredRecommender] => [baseline.name, baseline]),
    ...(championScored ? [[CHAMPION_LABEL, championScored] as [string, ScoredRecommender]] : []),
  ];
  const displaySeries: Float64Array[] = [];
  const labels: string[] = [];
  for (const [label, scored] of labelled) {
    for (const { metric, k } of intervalKeys) {
      displaySeries.push(perPointValues(scored.ranks, metric, k));
      labels.push(`${label}|${metricKey(metric, k)}`);
    }
  }
  const differenceSeries: Float64Array[] = [];
  if (championScored) {
    for (const { metric, k } of championKeys) {
      differenceSeries.push(
        pairedDifferences(perPointValues(challenger.ranks, metric, k), perPointValues(championScored.ranks, metric, k)),
      );
      labels.push(`difference|${metricKey(metric, k)}`);
    }
  }
  // `best-baseline`: per checked metric, the strongest baseline on today's points, judged like the champion.
  const bestBaselines: Record<string, BestBaseline> = {};
  for (const check of gateChecks) {
    if (check.operand.kind !== "reference" || check.operand.reference !== "best-baseline") continue;
    const key = metricKey(check.metric, check.k);
    if (bestBaselines[key]) continue;
    const best = baselines.reduce<ScoredRecommender | undefined>(
      (leader, baseline) =>
        (baseline.metrics[key] ?? Number.NEGATIVE_INFINITY) > (leader?.metrics[key] ?? Number.NEGATIVE_INFINITY)
          ? baseline
          : leader,
      undefined,
    );
    if (!best || best.metrics[key] === undefined) continue;
    bestBaselines[key] = { name: best.name as BaselineName, value: best.metrics[key] };
    if (check.metric === "coverage") continue;
    differenceSeries.push(
      pairedDifferences(
        perPointValues(challenger.ranks, check.metric, check.k),
        perPointValues(best.ranks, check.metric, check.k),
      ),
    );
    labels.push(`best-baseline|${key}`);
  }
  // The paired differences decide champion checks: always the full resample count. The intervals
  // drawn on the chart share a work budget, so 100k points × 5 recommenders stays in seconds.
  const resamples = options.bootstrapResamples ?? 1000;
  const budget = options.bootstrapBudget ?? 300_000_000;
  const displayResamples = Math.max(
    Math.min(resamples, 200),
    Math.min(resamples, Math.floor(budget / Math.max(1, points.length * displaySeries.length))),
  );
  if (displayResamples < resamples) {
    notes.push(
      `Per-recommender intervals use ${displayResamples} bootstrap resamples (work budget); champion differences use ${resamples}.`,
    );
  }
  log("Bootstrapping intervals", {
    series: displaySeries.length,
    displayResamples,
    differences: differenceSeries.length,
    resamples,
  });
  const intervals = [
    ...bootstrapMeans(displaySeries, { resamples: displayResamples, seed }),
    ...(differenceSeries.length > 0 ? bootstrapMeans(differenceSeries, { resamples, seed }) : []),
  ];
  const intervalsOf = (owner: string) => {
    const found: Record<string, Interval> = {};
    labels.forEach((label, index) => {
      const [labelOwner, key] = label.split("|") as [string, string];
      if (labelOwner === owner) found[key] = intervals[index] as Interval;
    });
    return found;
  };
  const summarize = (
    label: string,
    scored: ScoredRecommender,
    role: RecommenderSummary["role"],
  ): RecommenderSummary => ({
    label,
    name: scored.name,
    role,
    metrics: scored.metrics,
    intervals: intervalsOf(label),
    seconds: scored.seconds,
  });

  let champion: ChampionSummary | null = null;
  if (input.champion) {
    const { info } = input.champion;
    if (championScored) {
      champion = {
        description: info.description,
        ...(info.modelUri ? { modelUri: info.modelUri } : {}),
        rescored: true,
        metrics: championScored.metrics,
        intervals: intervalsOf(CHAMPION_LABEL),
        ...(info.storedMetrics ? { storedMetrics: info.storedMetrics } : {}),
        differences: intervalsOf("difference"),
        note: "re-scored on today's test points; paired bootstrap of the difference",
      };
    } else {
      const why = input.champion.loadError ?? "its artifact is not available";
      champion = {
        description: info.description,
        ...(info.modelUri ? { modelUri: info.modelUri } : {}),
        rescored: false,
        metrics: { ...(info.storedMetrics ?? {}) },
        intervals: {},
        ...(info.storedMetrics ? { storedMetrics: info.storedMetrics } : {}),
        differences: {},
        note: info.storedMetrics
          ? `not re-scored (${why}): its stored metrics, measured on other data, are compared without an interval`
          : `not re-scored (${why}) and no stored metrics: champion checks pass as not comparable`,
      };
    }
    notes.push(`Champion: ${champion.description} — ${champion.note}.`);
  } else {
    missing.champion = "no model is serving yet";
    notes.push("No champion: nothing is serving yet, so champion checks pass.");
  }

  const championValues: ChampionValues | undefined = champion
    ? {
        description: champion.description,
        metrics: champion.metrics,
        rescored: champion.rescored,
        differences: champion.differences,
      }
    : undefined;
  for (const [key, interval] of Object.entries(intervalsOf("best-baseline"))) {
    const best = bestBaselines[key];
    if (best) bestBaselines[key] = { ...best, difference: interval };
  }
  const gate = evaluateGate(gateChecks, {
    challenger: challenger.metrics,
    bestBaselines,
    baselines: Object.fromEntries(baselines.map((baseline) => [baseline.name, baseline.metrics])),
    missing,
    ...(championValues ? { champion: championValues } : {}),
  });

  const slices: SliceDefinition[] = [sessionLengthSlice(), prefixLengthSlice(), popularityDecileSlice(itemCounts)];
  if (input.itemAttributes && input.itemAttributes.size > 0) {
    const columns = new Set<string>();
    for (const row of input.itemAttributes.values()) for (const column of Object.keys(row)) columns.add(column);
    for (const column of columns) slices.push(attributeSlice(column, input.itemAttributes));
  }
  const ranksByLabel = new Map(labelled.map(([label, scored]) => [label, scored.ranks]));

  log("Running the behavioural tests", { sample: options.behaviouralSample ?? 1000 });
  const behavioural = await runBehaviouralTests(input.challenger, points, {
    k: primaryK,
    itemCounts,
    ...similarItemFinder(itemCounts, input.itemAttributes, cooccurrence),
    sampleSize: options.behaviouralSample ?? 1000,
    seed,
    ...(options.behaviouralThresholds ? { thresholds: options.behaviouralThresholds } : {}),
  });

  const profile = profileData(input.trainSessions, input.testSessions);
  const examples = await workedExamples(input.challenger, points, primaryK, seed);

  return {
    ks,
    primaryK,
    profile,
    ...(input.previousProfile
      ? { drift: compareProfiles(profile, input.previousProfile.profile, input.previousProfile.runId) }
      : {}),
    examples,
    points: {
      total: allPoints.length,
      scored: points.length,
      testSessions: input.testSessions.length,
      sampled: points.length < allPoints.length,
    },
    training: { sessions: trainSessions.length, events: trainingEvents, items: itemCounts.size },
    challenger: summarize(CHALLENGER_LABEL, challenger, "challenger"),
    baselines: baselines.map((baseline) => summarize(baseline.name, baseline, "baseline")),
    champion,
    bestBaselines,
    slices: hitsBySlice(points, ranksByLabel, primaryK, slices),
    behavioural,
    gate,
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}

export class EvaluationDataError extends Error {
  override readonly name = "EvaluationDataError";
}
