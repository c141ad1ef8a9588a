import { describe, expect, it } from "vitest";
import {
  hitRate,
  meanReciprocalRank,
  normalizedDcg,
  rankOf,
  scoreRecommender,
  testPoints,
} from "../../../core/evaluation/metrics.ts";
import type { Recommender } from "../../../core/model/recommender.ts";

/** Recommends a fixed list per first item of the prefix, so ranks are known by construction. */
function scripted(lists: Record<string, string[]>): Recommender {
  return {
    name: "scripted",
    async recommend(sessions, k) {
      return sessions.map((session) =>
        (lists[session.at(-1) ?? ""] ?? []).slice(0, k).map((sku, index) => ({ sku, score: 1 / (index + 1) })),
      );
    },
  };
}

describe("testPoints", () => {
  it("makes one point per position after the first, with the prefix before it", () => {
    const points = testPoints([["a", "b", "c"], ["d"], { items: ["e", "f"] }]);
    expect(points).toEqual([
      { session: 0, prefix: ["a"], target: "b", sessionLength: 3 },
      { session: 0, prefix: ["a", "b"], target: "c", sessionLength: 3 },
      { session: 2, prefix: ["e"], target: "f", sessionLength: 2 },
    ]);
  });

  it("keeps only the most recent items of long prefixes", () => {
    const points = testPoints([["a", "b", "c", "d"]], { maxPrefixLength: 2 });
    expect(points.map((point) => point.prefix)).toEqual([["a"], ["a", "b"], ["b", "c"]]);
  });
});

describe("rank metrics", () => {
  // Ranks 0, 1, 4 and a miss: computed by hand below.
  const ranks = Int32Array.from([0, 1, 4, -1]);

  it("HR@k counts targets inside the top k", () => {
    expect(hitRate(ranks, 1)).toBe(1 / 4);
    expect(hitRate(ranks, 2)).toBe(2 / 4);
    expect(hitRate(ranks, 5)).toBe(3 / 4);
  });

  it("MRR@k averages 1/rank and ignores ranks beyond k", () => {
    expect(meanReciprocalRank(ranks, 5)).toBeCloseTo((1 + 1 / 2 + 1 / 5) / 4, 12);
    expect(meanReciprocalRank(ranks, 2)).toBeCloseTo((1 + 1 / 2) / 4, 12);
  });

  it("NDCG@k with one relevant item is 1/log2(rank+1) with 1-based ranks", () => {
    expect(normalizedDcg(ranks, 5)).toBeCloseTo((1 + 1 / Math.log2(3) + 1 / Math.log2(6)) / 4, 12);
    expect(normalizedDcg(Int32Array.from([0]), 10)).toBe(1);
  });

  it("rankOf finds the target's position or -1", () => {
    const list = [
      { sku: "x", score: 1 },
      { sku: "y", score: 0.5 },
    ];
    expect(rankOf(list, "y")).toBe(1);
    expect(rankOf(list, "z")).toBe(-1);
  });
});

describe("scoreRecommender", () => {
  it("computes every metric at every k over test points, in batches", async () => {
    // Prepare: two sessions → points a→b, b→c, x→y.
    const points = testPoints([
      ["a", "b", "c"],
      ["x", "y"],
    ]);
    const recommender = scripted({ a: ["b", "c"], b: ["a", "z", "c"], x: ["a", "b"] });
    const itemCounts = new Map([
      ["a", 4],
      ["b", 2],
      ["c", 1],
      ["x", 1],
      ["y", 1],
      ["z", 1],
    ]);

    // Act
    const scored = await scoreRecommender(recommender, points, { ks: [1, 3], batchSize: 2, itemCounts });

    // Assess: ranks are 0 (b first), 2 (c third), miss.
    expect([...scored.ranks]).toEqual([0, 2, -1]);
    expect(scored.metrics["hr@1"]).toBeCloseTo(1 / 3, 12);
    expect(scored.metrics["hr@3"]).toBeCloseTo(2 / 3, 12);
    expect(scored.metrics["mrr@3"]).toBeCloseTo((1 + 1 / 3) / 3, 12);
    expect(scored.metrics["ndcg@3"]).toBeCloseTo((1 + 1 / 2) / 3, 12);
    // top 1 lists: b, a, a → {a, b} of 6 items; top 3: b c a z a b → {a, b, c, z}.
    expect(scored.metrics["coverage@1"]).toBeCloseTo(2 / 6, 12);
    expect(scored.metrics["coverage@3"]).toBeCloseTo(4 / 6, 12);
    // ARP@1: counts 2, 4, 4 → 10/3; ARP@3: (2+1)/2, (4+1+1)/3, (4+2)/2 → (1.5 + 2 + 3) / 3.
    expect(scored.metrics["popularityBias@1"]).toBeCloseTo(10 / 3, 12);
    expect(scored.metrics["popularityBias@3"]).toBeCloseTo(6.5 / 3, 12);
  });

  it("rejects a recommender that answers the wrong number of sessions", async () => {
    const broken: Recommender = { name: "broken", recommend: async () => [] };
    await expect(
      scoreRecommender(broken, testPoints([["a", "b"]]), { itemCounts: new Map([["a", 1]]) }),
    ).rejects.toThrow(/broken returned 0 lists for 1 sessions/);
  });
});
