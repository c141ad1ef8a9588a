import type { ItemCounts, TestPoint } from "./metrics.ts";
import { hitAt } from "./metrics.ts";

/** A way to cut test points into groups; `bucketOf` returns undefined to leave a point out. */
export interface SliceDefinition {
  readonly name: string;
  readonly buckets: readonly string[];
  bucketOf(point: TestPoint): string | undefined;
}

export interface SliceRow {
  readonly slice: string;
  readonly bucket: string;
  readonly points: number;
  /** HR@k per recommender name. */
  readonly hitRate: Readonly<Record<string, number>>;
}

function lengthBuckets(name: string, lengthOf: (point: TestPoint) => number): SliceDefinition {
  const edges: [number, string][] = [
    [1, "1"],
    [2, "2"],
    [4, "3–4"],
    [9, "5–9"],
    [19, "10–19"],
    [Number.POSITIVE_INFINITY, "20+"],
  ];
  return {
    name,
    buckets: edges.map(([, label]) => label),
    bucketOf: (point) => edges.find(([upper]) => lengthOf(point) <= upper)?.[1],
  };
}

export const sessionLengthSlice = (): SliceDefinition =>
  lengthBuckets("session length", (point) => point.sessionLength);
export const prefixLengthSlice = (): SliceDefinition => lengthBuckets("prefix length", (point) => point.prefix.length);

export const COLD_BUCKET = "unseen";

/**
 * Deciles of the target's training popularity, 1 = least popular tenth of the catalogue, 10 = most
 * popular; items tied on count share the decile of their group's middle rank, so the long tail of
 * one-click items is not split arbitrarily. Targets never seen in training form their own bucket.
 */
export function popularityDecileSlice(itemCounts: ItemCounts): SliceDefinition {
  const byCount = [...itemCounts].sort(([, a], [, b]) => a - b);
  const decile = new Map<string, string>();
  let start = 0;
  while (start < byCount.length) {
    let end = start;
    const count = (byCount[start] as [string, number])[1];
    while (end < byCount.length && (byCount[end] as [string, number])[1] === count) end++;
    const middle = (start + end - 1) / 2;
    const label = String(Math.min(10, Math.floor((middle * 10) / byCount.length) + 1));
    for (let index = start; index < end; index++) decile.set((byCount[index] as [string, number])[0], label);
    start = end;
  }
  return {
    name: "target popularity decile",
    buckets: [COLD_BUCKET, ...Array.from({ length: 10 }, (_, index) => String(index + 1))],
    bucketOf: (point) => decile.get(point.target) ?? COLD_BUCKET,
  };
}

/** A column of the products table (category, price bucket…) looked up for the target item. */
export function attributeSlice(
  column: string,
  attributes: ReadonlyMap<string, Readonly<Record<string, string>>>,
  maxBuckets = 20,
): SliceDefinition {
  const counts = new Map<string, number>();
  for (const row of attributes.values()) {
    const value = row[column];
    if (value !== undefined && value !== "") counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  // Many distinct values (a fine category tree) make an unreadable chart: keep the largest, group the rest.
  const kept = [...counts]
    .sort(([, a], [, b]) => b - a)
    .slice(0, maxBuckets - 1)
    .map(([value]) => value);
  const keptSet = new Set(kept);
  const other = counts.size > kept.length ? ["other"] : [];
  return {
    name: column,
    buckets: [...kept.sort(), ...other, "unknown"],
    bucketOf: (point) => {
      const value = attributes.get(point.target)?.[column];
      if (value === undefined || value === "") return "unknown";
      return keptSet.has(value) ? value : "other";
    },
  };
}

/** HR@k of every recommender within every bucket of every slice (empty buckets left out). */
export function hitsBySlice(
  points: readonly TestPoint[],
  ranksByRecommender: ReadonlyMap<string, ArrayLike<number>>,
  k: number,
  slices: readonly SliceDefinition[],
): SliceRow[] {
  const rows: SliceRow[] = [];
  for (const slice of slices) {
    const members = new Map<string, number[]>();
    points.forEach((point, index) => {
      const bucket = slice.bucketOf(point);
      if (bucket === undefined) return;
      let list = members.get(bucket);
      if (!list) {
        list = [];
        members.set(bucket, list);
      }
      list.push(index);
    });
    for (const bucket of slice.buckets) {
      const indices = members.get(bucket);
      if (!indices || indices.length === 0) continue;
      const hitRate: Record<string, number> = {};
      for (const [name, ranks] of ranksByRecommender) {
        let hits = 0;
        for (const index of indices) hits += hitAt(ranks[index] as number, k);
        hitRate[name] = hits / indices.length;
      }
      rows.push({ slice: slice.name, bucket, points: indices.length, hitRate });
    }
  }
  return rows;
}

/**
 * The Wilson score interval of a proportion (`hits` of `n`), 95% by default: unlike the normal
 * approximation it stays inside [0, 1] and is honest for the small buckets a slice can have.
 */
export function wilsonInterval(hits: number, n: number, z = 1.959964): { lower: number; upper: number } {
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = hits / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}
