import type { DataManifest } from "../pipeline/contracts.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
/**
 * The champion is the model serving shoppers now. The Evaluate stage finds it through this port,
 * re-scores it on today's test points when its artifact can be loaded, and otherwise falls back to
 * the metrics stored with it.
 */
export interface Champion {
  /** Where its `model.tar.gz` lives, when known. */
  readonly modelUri?: string;
  /** Metrics recorded when it was evaluated (keys `hr@20`, `mrr@20`, …), when known. */
  readonly storedMetrics?: Readonly<Record<string, number>>;
  /** Human-readable origin, e.g. `endpoint pms-recommender → model pms-3f2a (s3://…/model.tar.gz)`. */
  readonly description: string;
}

export interface ChampionSource {
  /** The model serving now, or undefined when nothing serves yet. */
  findChampion(): Promise<Champion | undefined>;
}

/** Pulls `hr@k`-style numbers out of a metrics map whose values may be strings (SageMaker metadata). */
export function metricsFromRecord(record: Readonly<Record<string, unknown>> | undefined): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [key, raw] of Object.entries(record ?? {})) {
    if (!/^[a-zA-Z]+@\d+$/.test(key)) continue;
    const value = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
    if (Number.isFinite(value)) metrics[key] = value;
  }
  return metrics;
}

/**
 * The challenger's metrics from a `metrics.json` this stage wrote earlier: how a champion's stored
 * metrics are read back when its registry entry points at its evaluation.
 */
export function metricsFromMetricsJson(text: string): Record<string, number> {
  const parsed = JSON.parse(text) as { challenger?: { metrics?: Record<string, unknown> }; metrics?: unknown };
  if (parsed.challenger?.metrics) return metricsFromRecord(parsed.challenger.metrics);
  return metricsFromRecord(parsed as Record<string, unknown>);
}

/**
 * The local twin's champion: the model its local endpoint serves (a model URI, with the metrics.json
 * of its evaluation when known), or none. Also how a test stands a known model in as the champion.
 */
export class LocalChampionSource implements ChampionSource {
  constructor(
    private readonly champion?: Champion & { readonly metricsUri?: string },
    private readonly store?: { getText(uri: string): Promise<string> },
  ) {}

  async findChampion(): Promise<Champion | undefined> {
    if (!this.champion) return undefined;
    const { metricsUri, ...champion } = this.champion;
    if (!metricsUri || !this.store || champion.storedMetrics) return champion;
    try {
      return { ...champion, storedMetrics: metricsFromMetricsJson(await this.store.getText(metricsUri)) };
    } catch {
      // Without its metrics the champion can still be re-scored from its artifact.
      return champion;
    }
  }
}

/** How the champion is scored on today's test points (see {@link championForTestSpan}). */
export interface ChampionScoring {
  /** The artifact to re-score, or undefined when none can be scored fairly on today's points. */
  readonly modelUri?: string;
  /** Why the artifact differs from the one serving, or why nothing is re-scored; absent when it is the serving one. */
  readonly note?: string;
}

/** `<run>/served-model/model.tar.gz` or `<run>/model/model.tar.gz` (core/pipeline/run-context.ts): the run's folder. */
const RUN_MODEL_LAYOUT = /\/(served-)?model\/model\.tar\.gz$/;

type ManifestSplits = Pick<DataManifest, "splits">;

function lastDayOf(manifest: ManifestSplits, splits: readonly ("train" | "validation" | "test")[]): string | null {
  const days = splits.map((split) => manifest.splits[split]?.lastDay).filter((day): day is string => !!day);
  return days.sort().at(-1) ?? null;
}

/**
 * The champion serving shoppers is the previous run's served model, which learned from every day of
 * its window. When that window reaches into today's test span (the same window run twice, or
 * overlapping backfills), re-scoring it there would judge it on clicks it learned from, and it would
 * beat any challenger. Its run's evaluated model learned nothing from its own test span on: it is
 * scored instead when that span starts no later than today's (the same window run again, or an
 * earlier one); otherwise nothing is re-scored and the champion is judged like one whose artifact is
 * gone. Days are compared, not instants, because the manifest records days: a test span that starts
 * on the day today's starts counts as starting with it. Champions outside the run layout
 * (`pms serve --model`) or without a readable manifest are scored as they are: nothing says what they
 * learned from.
 */
export async function championForTestSpan(
  store: Pick<ArtifactStore, "exists" | "getText">,
  modelUri: string,
  testFirstDay: string | null,
): Promise<ChampionScoring> {
  const layout = RUN_MODEL_LAYOUT.exec(modelUri);
  if (!layout || testFirstDay === null) return { modelUri };
  const runFolder = modelUri.slice(0, layout.index);
  let manifest: ManifestSplits;
  try {
    manifest = JSON.parse(await store.getText(`${runFolder}/data/manifest.json`)) as ManifestSplits;
  } catch {
    return { modelUri };
  }
  const heldOutFrom = manifest.splits?.test?.firstDay ?? null;
  const evaluatedIsFair = heldOutFrom !== null && heldOutFrom <= testFirstDay;
  if (layout[1] === undefined) {
    return evaluatedIsFair
      ? { modelUri }
      : {
          note: `it learned from days up to ${heldOutFrom ?? "?"}, past the start of today's test span (${testFirstDay})`,
        };
  }
  const learnedThrough = lastDayOf(manifest, ["train", "validation", "test"]);
  if (learnedThrough === null || learnedThrough < testFirstDay) return { modelUri };
  const evaluatedUri = `${runFolder}/model/model.tar.gz`;
  if (evaluatedIsFair && (await store.exists(evaluatedUri))) {
    return {
      modelUri: evaluatedUri,
      note: `its run's evaluated model is re-scored: the serving one learned from days through ${learnedThrough}, into today's test span (from ${testFirstDay})`,
    };
  }
  return { note: `it learned from days through ${learnedThrough}, into today's test span (from ${testFirstDay})` };
}
