import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { seededRandom } from "./bootstrap.ts";
import { hitAt, type ItemCounts, rankOf, type TestPoint } from "./metrics.ts";

/**
 * Behavioural tests in the spirit of RecList (Chia et al. 2022): beyond accuracy, how does the model
 * react to small, meaningful changes of its input? Each runs on a seeded sample of test points.
 */

export interface BehaviouralTest {
  readonly name: string;
  readonly description: string;
  readonly value: number;
  /** Present when a threshold was configured for this test. */
  readonly threshold?: number;
  readonly passed?: boolean;
  /** Sample size and the figures behind the value. */
  readonly detail: string;
}

export const BEHAVIOURAL_TESTS = ["perturbation", "prefix shuffle", "repeat handling", "cold items"] as const;
export type BehaviouralTestName = (typeof BEHAVIOURAL_TESTS)[number];

export interface BehaviouralOptions {
  readonly k: number;
  readonly itemCounts: ItemCounts;
  /** The "similar item" the perturbation test swaps the last item for. */
  readonly similarItem: (sku: string) => string | undefined;
  /** How `similarItem` decides, said in the report (e.g. "same category"). */
  readonly similarity: string;
  /** Points per test. @default 1000 */
  readonly sampleSize?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  /** Minimum value per test; a test with a threshold gets a verdict. */
  readonly thresholds?: Partial<Record<BehaviouralTestName, number>>;
}

/** |A ∩ B| / k: how many of the top k survive a change of input. */
export function overlapAtK(a: readonly Recommendation[], b: readonly Recommendation[], k: number): number {
  const first = new Set(a.slice(0, k).map((recommendation) => recommendation.sku));
  let shared = 0;
  for (const { sku } of b.slice(0, k)) if (first.has(sku)) shared++;
  return k === 0 ? 0 : shared / k;
}

function sample<T>(items: readonly T[], size: number, random: () => number): T[] {
  if (items.length <= size) return [...items];
  const copy = [...items];
  // Partial Fisher–Yates: the first `size` slots end up a uniform sample.
  for (let index = 0; index < size; index++) {
    const pick = index + Math.floor(random() * (copy.length - index));
    [copy[index], copy[pick]] = [copy[pick] as T, copy[index] as T];
  }
  return copy.slice(0, size);
}

async function recommendAll(
  recommender: Recommender,
  sessions: readonly (readonly string[])[],
  k: number,
  batchSize: number,
): Promise<Recommendation[][]> {
  const lists: Recommendation[][] = [];
  for (let start = 0; start < sessions.length; start += batchSize) {
    lists.push(...(await recommender.recommend(sessions.slice(start, start + batchSize), k)));
  }
  return lists;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
const percent = (value: number) => (Number.isNaN(value) ? "n/a" : `${(value * 100).toFixed(1)}%`);

function shuffled(prefix: readonly string[], random: () => number): string[] {
  const copy = [...prefix];
  for (let index = copy.length - 1; index > 0; index--) {
    const pick = Math.floor(random() * (index + 1));
    [copy[index], copy[pick]] = [copy[pick] as string, copy[index] as string];
  }
  // A shuffle that changed nothing tests nothing: rotate instead (the prefix has two distinct items).
  if (copy.every((item, index) => item === prefix[index])) copy.push(copy.shift() as string);
  return copy;
}

export async function runBehaviouralTests(
  recommender: Recommender,
  points: readonly TestPoint[],
  options: BehaviouralOptions,
): Promise<BehaviouralTest[]> {
  const { k } = options;
  const random = seededRandom(options.seed ?? 7);
  const sampleSize = options.sampleSize ?? 1000;
  const batchSize = options.batchSize ?? 256;
  const withVerdict = (name: BehaviouralTestName, test: Omit<BehaviouralTest, "name">): BehaviouralTest => {
    const threshold = options.thresholds?.[name];
    return threshold === undefined
      ? { name, ...test }
      : { name, ...test, threshold, passed: !Number.isNaN(test.value) && test.value >= threshold };
  };

  const known = points.filter((point) => point.prefix.some((item) => options.itemCounts.has(item)));

  // Perturbation: swap the last item for a similar one.
  const perturbable = sample(
    known.filter((point) => {
      const last = point.prefix.at(-1);
      return last !== undefined && options.similarItem(last) !== undefined;
    }),
    sampleSize,
    random,
  );
  const perturbedPrefixes = perturbable.map((point) => [
    ...point.prefix.slice(0, -1),
    options.similarItem(point.prefix.at(-1) as string) as string,
  ]);
  const [perturbOriginal, perturbChanged] = await Promise.all([
    recommendAll(
      recommender,
      perturbable.map((point) => point.prefix),
      k,
      batchSize,
    ),
    recommendAll(recommender, perturbedPrefixes, k, batchSize),
  ]);
  const perturbOverlap = mean(
    perturbable.map((_, index) => overlapAtK(perturbOriginal[index] ?? [], perturbChanged[index] ?? [], k)),
  );

  // Prefix shuffle: same items, different order.
  const shufflable = sample(
    known.filter((point) => new Set(point.prefix).size >= 2),
    sampleSize,
    random,
  );
  const shuffledPrefixes = shufflable.map((point) => shuffled(point.prefix, random));
  const shuffleOriginal = await recommendAll(
    recommender,
    shufflable.map((point) => point.prefix),
    k,
    batchSize,
  );
  const shuffleChanged = await recommendAll(recommender, shuffledPrefixes, k, batchSize);
  const shuffleOverlap = mean(
    shufflable.map((_, index) => overlapAtK(shuffleOriginal[index] ?? [], shuffleChanged[index] ?? [], k)),
  );
  const hrOriginal = mean(
    shufflable.map((point, index) => hitAt(rankOf(shuffleOriginal[index] ?? [], point.target), k)),
  );
  const hrShuffled = mean(
    shufflable.map((point, index) => hitAt(rankOf(shuffleChanged[index] ?? [], point.target), k)),
  );

  // Repeat handling: targets the shopper already saw in the session.
  const repeatSample = sample(known, sampleSize, random);
  const repeatLists = await recommendAll(
    recommender,
    repeatSample.map((point) => point.prefix),
    k,
    batchSize,
  );
  const repeatTargets = repeatSample.filter((point) => point.prefix.includes(point.target));
  const hitsOn = (subset: (point: TestPoint) => boolean) =>
    mean(
      repeatSample
        .map((point, index) => ({ point, list: repeatLists[index] ?? [] }))
        .filter(({ point }) => subset(point))
        .map(({ point, list }) => hitAt(rankOf(list, point.target), k)),
    );
  const repeatHr = hitsOn((point) => point.prefix.includes(point.target));
  const newHr = hitsOn((point) => !point.prefix.includes(point.target));
  const recommendedRepeats = mean(
    repeatSample.map((point, index) => {
      const list = (repeatLists[index] ?? []).slice(0, k);
      const seen = new Set(point.prefix);
      return list.length === 0 ? 0 : list.filter((recommendation) => seen.has(recommendation.sku)).length / list.length;
    }),
  );

  // Cold items: sessions made only of items never seen in training must still get an answer.
  const coldSessions = Array.from({ length: Math.min(sampleSize, 50) }, (_, index) => [`__cold_item_${index}__`]);
  const coldLists = await recommendAll(recommender, coldSessions, k, batchSize);
  const fullColdLists = mean(coldLists.map((list) => (list.length >= k ? 1 : 0)));
  const coldTargets = mean(points.map((point) => (options.itemCounts.has(point.target) ? 0 : 1)));
  const coldPrefixes = mean(points.map((point) => (point.prefix.some((item) => options.itemCounts.has(item)) ? 0 : 1)));

  return [
    withVerdict("perturbation", {
      description: `Swap the session's last item for a similar one (${options.similarity}); overlap@${k} of the recommendations. High = robust to a near-identical input.`,
      value: perturbOverlap,
      detail: `${perturbable.length} points with a similar item`,
    }),
    withVerdict("prefix shuffle", {
      description: `Shuffle the items before the target; overlap@${k} with the original recommendations. 1 = the order is ignored; lower = the model uses the order.`,
      value: shuffleOverlap,
      detail: `${shufflable.length} points; HR@${k} ${percent(hrOriginal)} in order, ${percent(hrShuffled)} shuffled`,
    }),
    withVerdict("repeat handling", {
      description: `HR@${k} on points whose target was already in the session (re-visits).`,
      value: repeatHr,
      detail: `${repeatTargets.length} of ${repeatSample.length} sampled targets are repeats; HR@${k} on new items ${percent(newHr)}; ${percent(recommendedRepeats)} of recommendations repeat a session item`,
    }),
    withVerdict("cold items", {
      description: `Share of sessions of unseen items that still get ${k} recommendations (a fallback).`,
      value: fullColdLists,
      detail: `${percent(coldTargets)} of test targets and ${percent(coldPrefixes)} of test prefixes are unseen in training (HR ceiling ${percent(1 - coldTargets)})`,
    }),
  ];
}
