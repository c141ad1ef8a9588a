import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";

/**
 * Next-item ranking metrics over test points. A test point is one position of one test session:
 * the items seen so far (the prefix) and the item that came next (the target). Every position of
 * every test session is a point, as in GRU4Rec's and session-rec's evaluation protocol.
 */

export const DEFAULT_KS = [10, 20] as const;

/** A session as a list of items, or any row that carries one (`SessionRow`). */
export type SessionLike = readonly string[] | { readonly items: readonly string[] };

export interface TestPoint {
  /** Index of the session in the list given to `testPoints`. */
  readonly session: number;
  /** Items seen before the target, oldest first (the last `maxPrefixLength` of them). */
  readonly prefix: readonly string[];
  readonly target: string;
  /** Length of the whole test session the point comes from. */
  readonly sessionLength: number;
}

export interface TestPointOptions {
  /** Keep only the most recent items of long prefixes (what a model with a fixed input length sees anyway). */
  readonly maxPrefixLength?: number;
}

export function sessionItems(session: SessionLike): readonly string[] {
  return Array.isArray(session) ? (session as readonly string[]) : (session as { items: readonly string[] }).items;
}

/** Every (prefix → next item) point of every session with at least two items. */
export function testPoints(sessions: readonly SessionLike[], options: TestPointOptions = {}): TestPoint[] {
  const maxPrefix = options.maxPrefixLength ?? Number.POSITIVE_INFINITY;
  const points: TestPoint[] = [];
  sessions.forEach((session, index) => {
    const items = sessionItems(session);
    for (let position = 1; position < items.length; position++) {
      points.push({
        session: index,
        prefix: items.slice(Math.max(0, position - maxPrefix), position),
        target: items[position] as string,
        sessionLength: items.length,
      });
    }
  });
  return points;
}

/** 0-based position of `target` in `list`, or -1 when it is absent. */
export function rankOf(list: readonly Recommendation[], target: string): number {
  for (let index = 0; index < list.length; index++) if (list[index]?.sku === target) return index;
  return -1;
}

/** Per-point contribution of one ranked target: 1 when found in the top k. */
export function hitAt(rank: number, k: number): number {
  return rank >= 0 && rank < k ? 1 : 0;
}

/** Per-point reciprocal rank, 0 beyond k. */
export function reciprocalRankAt(rank: number, k: number): number {
  return rank >= 0 && rank < k ? 1 / (rank + 1) : 0;
}

/** Per-point NDCG with one relevant item: the ideal DCG is 1, so NDCG = 1 / log2(rank + 2). */
export function ndcgAt(rank: number, k: number): number {
  return rank >= 0 && rank < k ? 1 / Math.log2(rank + 2) : 0;
}

export type PointMetric = "hr" | "mrr" | "ndcg";
export const POINT_METRICS: Record<PointMetric, (rank: number, k: number) => number> = {
  hr: hitAt,
  mrr: reciprocalRankAt,
  ndcg: ndcgAt,
};

function mean(ranks: ArrayLike<number>, k: number, perPoint: (rank: number, k: number) => number): number {
  if (ranks.length === 0) return 0;
  let sum = 0;
  for (let index = 0; index < ranks.length; index++) sum += perPoint(ranks[index] as number, k);
  return sum / ranks.length;
}

export const hitRate = (ranks: ArrayLike<number>, k: number) => mean(ranks, k, hitAt);
export const meanReciprocalRank = (ranks: ArrayLike<number>, k: number) => mean(ranks, k, reciprocalRankAt);
export const normalizedDcg = (ranks: ArrayLike<number>, k: number) => mean(ranks, k, ndcgAt);

/** The values of one per-point metric, e.g. for a paired bootstrap. */
export function perPointValues(ranks: ArrayLike<number>, metric: PointMetric, k: number): Float64Array {
  const perPoint = POINT_METRICS[metric];
  const values = new Float64Array(ranks.length);
  for (let index = 0; index < ranks.length; index++) values[index] = perPoint(ranks[index] as number, k);
  return values;
}

/** Metric names as the gate grammar writes them: `hr@20`, `coverage@10`, `popularityBias@20`. */
export const metricKey = (metric: string, k: number) => `${metric}@${k}`;

/** Training interaction counts per item: the popularity that popularity bias and deciles refer to. */
export type ItemCounts = ReadonlyMap<string, number>;

export interface ScoreOptions {
  readonly ks?: readonly number[];
  /** Sessions per `recommend` call: bounds memory and lets a model batch its inference. */
  readonly batchSize?: number;
  /** Training counts per item; its size is the catalogue size for coverage. */
  readonly itemCounts: ItemCounts;
  /** Called with each scored batch's lists (behavioural tests and slices reuse them without rescoring). */
  readonly onBatch?: (start: number, lists: readonly Recommendation[][]) => void;
}

export interface ScoredRecommender {
  readonly name: string;
  /** 0-based rank of each point's target within the top max(ks), -1 when absent. */
  readonly ranks: Int32Array;
  /** `hr@k`, `mrr@k`, `ndcg@k`, `coverage@k`, `popularityBias@k` for every k. */
  readonly metrics: Record<string, number>;
  readonly seconds: number;
}

/**
 * Scores a recommender on test points in batches. Only the ranks (4 bytes a point) and the set of
 * recommended items per k are kept, so memory does not grow with the lists.
 *
 * - coverage@k: distinct items recommended in any top k, over the training catalogue's size.
 * - popularityBias@k: average recommendation popularity (ARP, Abdollahpouri et al. 2019) — the
 *   mean training count of the items in each top k, averaged over points.
 */
export async function scoreRecommender(
  recommender: Recommender,
  points: readonly TestPoint[],
  options: ScoreOptions,
): Promise<ScoredRecommender> {
  const started = performance.now();
  const ks = [...new Set(options.ks ?? DEFAULT_KS)].sort((a, b) => a - b);
  const depth = ks[ks.length - 1] ?? 20;
  const batchSize = options.batchSize ?? 512;
  const ranks = new Int32Array(points.length).fill(-1);
  const recommended = ks.map(() => new Set<string>());
  const popularitySums = ks.map(() => 0);
  for (let start = 0; start < points.length; start += batchSize) {
    const batch = points.slice(start, start + batchSize);
    const lists = await recommender.recommend(
      batch.map((point) => point.prefix),
      depth,
    );
    if (lists.length !== batch.length) {
      throw new Error(`${recommender.name} returned ${lists.length} lists for ${batch.length} sessions`);
    }
    lists.forEach((list, offset) => {
      ranks[start + offset] = rankOf(list.slice(0, depth), (batch[offset] as TestPoint).target);
      ks.forEach((k, kIndex) => {
        const top = list.slice(0, k);
        let popularity = 0;
        for (const { sku } of top) {
          const count = options.itemCounts.get(sku);
          if (count === undefined) continue;
          (recommended[kIndex] as Set<string>).add(sku);
          popularity += count;
        }
        if (top.length > 0) popularitySums[kIndex] = (popularitySums[kIndex] as number) + popularity / top.length;
      });
    });
    options.onBatch?.(start, lists);
  }
  const catalogue = Math.max(1, options.itemCounts.size);
  const metrics: Record<string, number> = {};
  ks.forEach((k, kIndex) => {
    metrics[metricKey("hr", k)] = hitRate(ranks, k);
    metrics[metricKey("mrr", k)] = meanReciprocalRank(ranks, k);
    metrics[metricKey("ndcg", k)] = normalizedDcg(ranks, k);
    metrics[metricKey("coverage", k)] = (recommended[kIndex] as Set<string>).size / catalogue;
    metrics[metricKey("popularityBias", k)] =
      points.length === 0 ? 0 : (popularitySums[kIndex] as number) / points.length;
  });
  return { name: recommender.name, ranks, metrics, seconds: (performance.now() - started) / 1000 };
}
