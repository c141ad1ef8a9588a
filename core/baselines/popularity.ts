import { type SessionLike, sessionItems } from "../evaluation/metrics.ts";
import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";

/** Interactions per item over the training sessions (repeats counted). */
export function countItems(sessions: readonly SessionLike[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const session of sessions)
    for (const item of sessionItems(session)) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Items by descending count; ties broken by SKU so every run ranks the same way. */
export function rankByCount(counts: ReadonlyMap<string, number>, limit = Number.POSITIVE_INFINITY): Recommendation[] {
  let total = 0;
  for (const count of counts.values()) total += count;
  return [...counts]
    .sort(([skuA, a], [skuB, b]) => b - a || (skuA < skuB ? -1 : skuA > skuB ? 1 : 0))
    .slice(0, limit)
    .map(([sku, count]) => ({ sku, score: total === 0 ? 0 : count / total }));
}

/**
 * Appends popular items not already in `list` until it holds `k`: every baseline answers with a
 * full list, as a deployed recommender with a fallback would.
 */
export function fillWithPopular(
  list: Recommendation[],
  popular: readonly Recommendation[],
  k: number,
): Recommendation[] {
  if (list.length >= k) return list.slice(0, k);
  const seen = new Set(list.map((recommendation) => recommendation.sku));
  for (const { sku } of popular) {
    if (list.length >= k) break;
    if (!seen.has(sku)) list.push({ sku, score: 0 });
  }
  return list;
}

/** The most interacted-with training items, whatever the session: the floor any model must clear. */
export class PopularityRecommender implements Recommender {
  readonly name = "popularity";

  constructor(private readonly popular: readonly Recommendation[]) {}

  static fromSessions(
    sessions: readonly SessionLike[],
    options: { readonly maxK?: number } = {},
  ): PopularityRecommender {
    return new PopularityRecommender(rankByCount(countItems(sessions), options.maxK ?? 1000));
  }

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    const top = this.popular.slice(0, k);
    return sessions.map(() => top.map((recommendation) => ({ ...recommendation })));
  }
}
