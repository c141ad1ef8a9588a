import { describe, expect, it } from "vitest";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { countItems, PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { SknnRecommender } from "../../../core/baselines/sknn.ts";

const skus = (lists: { sku: string }[][]) => lists.map((list) => list.map((recommendation) => recommendation.sku));

describe("PopularityRecommender", () => {
  it("ranks items by training count, ties by SKU, the same list for every session", async () => {
    const sessions = [["a", "b", "b"], ["c", "b", "a"], ["d"]];
    expect(countItems(sessions).get("b")).toBe(3);
    const recommender = PopularityRecommender.fromSessions(sessions);
    const lists = await recommender.recommend([["x"], []], 3);
    expect(skus(lists)).toEqual([
      ["b", "a", "c"],
      ["b", "a", "c"],
    ]);
    expect(lists[0]?.[0]?.score).toBeCloseTo(3 / 7, 12);
  });
});

describe("CooccurrenceRecommender", () => {
  const sessions = [
    ["a", "b", "c"],
    ["a", "b"],
    ["a", "c"],
    ["d", "e"],
    ["e", "e", "e"],
  ];
  const recommender = CooccurrenceRecommender.fromSessions(sessions);

  it("ranks what followed the last item by P(next | last)", async () => {
    const [list] = await recommender.recommend([["x", "a"]], 2);
    expect(list).toEqual([
      { sku: "b", score: 2 / 3 },
      { sku: "c", score: 1 / 3 },
    ]);
  });

  it("falls back to the latest earlier item with successors, then tops up with popular items", async () => {
    // "c" was never followed by anything; "b" was followed by "c" once.
    const lists = await recommender.recommend([["b", "c"], ["zzz"]], 3);
    expect(skus(lists)).toEqual([
      ["c", "e", "a"],
      ["e", "a", "b"],
    ]);
  });

  it("names a non-identical nearest neighbour", () => {
    expect(recommender.nearestNeighbour("e")).toBeUndefined();
    expect(recommender.nearestNeighbour("a")).toBe("b");
  });
});

describe("SknnRecommender", () => {
  it("scores items by decayed similarity of recent neighbour sessions (hand-computed)", async () => {
    // Prepare: current session [a, b]: weights a = 1/2, b = 1, 2 distinct items.
    const training = [
      { items: ["a", "x"], session_start_ms: 1 }, // sim (1/2)/2 = 0.25, last shared a: step 2 → vote 0.125
      { items: ["b", "y"], session_start_ms: 2 }, // sim 1/2 = 0.5, step 1 → vote 0.5
      { items: ["a", "b", "z"], session_start_ms: 3 }, // sim 1.5/2 = 0.75, step 1 → vote 0.75
      { items: ["q"], session_start_ms: 4 }, // shares nothing
    ];
    const recommender = new SknnRecommender(training);

    // Act
    const [list] = await recommender.recommend([["a", "b"]], 6);

    // Assess: a = 0.125 + 0.75, b = 0.5 + 0.75, x = 0.125, y = 0.5, z = 0.75; q comes from the popular fill.
    expect(list?.map((r) => r.sku)).toEqual(["b", "a", "z", "y", "x", "q"]);
    expect(list?.[0]?.score).toBeCloseTo(1.25, 12);
    expect(list?.[1]?.score).toBeCloseTo(0.875, 12);
    expect(list?.[4]?.score).toBeCloseTo(0.125, 12);
  });

  it("keeps only the most recent candidate sessions and the most similar neighbours", async () => {
    const training = [
      { items: ["a", "old"], session_start_ms: 1 },
      { items: ["a", "new"], session_start_ms: 2 },
    ];
    const sampled = new SknnRecommender(training, { sampleSize: 1 });
    const [list] = await sampled.recommend([["a"]], 2);
    expect(list?.map((r) => r.sku)).toEqual(["a", "new"]);
    const oneNeighbour = new SknnRecommender(
      [
        { items: ["a", "b", "far"], session_start_ms: 2 },
        { items: ["b", "near"], session_start_ms: 1 },
      ],
      { neighbours: 1 },
    );
    // For [a, b]: the first session's sim is 1.5/2, the second's 1/2 → only the first votes, equally for its items.
    const [top] = await oneNeighbour.recommend([["a", "b"]], 3);
    expect(top?.map((r) => r.sku).sort()).toEqual(["a", "b", "far"]);
    expect(top?.every((r) => r.score === 0.75)).toBe(true);
  });

  it("answers an unknown session with popular items", async () => {
    const recommender = new SknnRecommender([{ items: ["a", "b", "b"] }]);
    const [list] = await recommender.recommend([["nope"]], 2);
    expect(list?.map((r) => r.sku)).toEqual(["b", "a"]);
  });
});
