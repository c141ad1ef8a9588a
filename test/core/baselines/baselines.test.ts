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

  it("weighs the session's items by exp((p − L) / τ) with positionDecay (hand-computed)", async () => {
    // Prepare: [a, b] with τ = 1: a weighs e^-1 instead of 1/2, b weighs 1 as before.
    const training = [
      { items: ["a", "x"], session_start_ms: 1 }, // sim e^-1 / 2, last shared a: step 2
      { items: ["b", "y"], session_start_ms: 2 }, // sim 1/2, step 1
      { items: ["a", "b", "z"], session_start_ms: 3 }, // sim (1 + e^-1) / 2, step 1
    ];
    const decayed = new SknnRecommender(training, { positionDecay: 1 });

    // Act
    const [list] = await decayed.recommend([["a", "b"]], 5);

    // Assess
    const score = (sku: string) => list?.find((r) => r.sku === sku)?.score;
    expect(score("x")).toBeCloseTo(Math.exp(-1) / 4, 12);
    expect(score("y")).toBeCloseTo(0.5, 12);
    expect(score("z")).toBeCloseTo((1 + Math.exp(-1)) / 2, 12);
  });

  it("lets sharing a rare item count more than sharing a common one with idfExponent (hand-computed)", async () => {
    // Prepare: 4 sessions; a is in 1 of them, b in 3. For [a, b]: a weighs 1/2, b 1.
    const training = [
      { items: ["a", "x"], session_start_ms: 1 },
      { items: ["b", "y"], session_start_ms: 2 },
      { items: ["b", "v"], session_start_ms: 3 },
      { items: ["b", "w"], session_start_ms: 4 },
    ];
    const plain = new SknnRecommender(training);
    const idf = new SknnRecommender(training, { idfExponent: 1 });

    // Act
    const [plainList] = await plain.recommend([["a", "b"]], 6);
    const [idfList] = await idf.recommend([["a", "b"]], 6);

    // Assess: plain, x = (1/2)/2 / 2 (step 2) < y = 1/2; with IDF, x = log 4 / 8 > y = log(4/3) / 2.
    const score = (list: typeof plainList, sku: string) => list?.find((r) => r.sku === sku)?.score ?? Number.NaN;
    expect(score(plainList, "x")).toBeCloseTo(0.125, 12);
    expect(score(plainList, "y")).toBeCloseTo(0.5, 12);
    expect(score(idfList, "x")).toBeCloseTo(Math.log(4) / 8, 12);
    expect(score(idfList, "y")).toBeCloseTo(Math.log(4 / 3) / 2, 12);
    expect(score(idfList, "x")).toBeGreaterThan(score(idfList, "y"));
  });

  it("weighs a neighbour's items by their distance to its item shared with the latest click, with neighbourItemDecay (hand-computed)", async () => {
    // Prepare: for [a, b] the neighbour's similarity is (1/2 + 1) / 2 = 0.75, its latest shared click
    // b (step 1) sits at index 3 of it.
    const training = [{ items: ["a", "x", "y", "b", "z"], session_start_ms: 1 }];
    const plain = new SknnRecommender(training);
    const decayed = new SknnRecommender(training, { neighbourItemDecay: 1 });

    // Act
    const [plainList] = await plain.recommend([["a", "b"]], 5);
    const [list] = await decayed.recommend([["a", "b"]], 5);

    // Assess
    expect(plainList?.every((r) => r.score === 0.75)).toBe(true);
    const score = (sku: string) => list?.find((r) => r.sku === sku)?.score ?? Number.NaN;
    expect(score("b")).toBeCloseTo(0.75, 12);
    expect(score("z")).toBeCloseTo(0.75 * Math.exp(-1), 12);
    expect(score("y")).toBeCloseTo(0.75 * Math.exp(-1), 12);
    expect(score("x")).toBeCloseTo(0.75 * Math.exp(-2), 12);
    expect(score("a")).toBeCloseTo(0.75 * Math.exp(-3), 12);
  });

  it("refuses a weighting option that is not a positive number, naming it", () => {
    expect(() => new SknnRecommender([], { positionDecay: 0 })).toThrow(/positionDecay must be a positive number/);
    expect(() => new SknnRecommender([], { idfExponent: Number.NaN })).toThrow(/idfExponent/);
    expect(() => new SknnRecommender([], { neighbourItemDecay: -2 })).toThrow(/neighbourItemDecay/);
  });

  it("answers an unknown session with popular items", async () => {
    const recommender = new SknnRecommender([{ items: ["a", "b", "b"] }]);
    const [list] = await recommender.recommend([["nope"]], 2);
    expect(list?.map((r) => r.sku)).toEqual(["b", "a"]);
  });
});

describe("SknnRecommender against a direct transcription of V-SkNN", () => {
  /** session-rec's VMContextKNN scoring, written plainly over maps: slow, obviously right. */
  function reference(training: { items: string[] }[], session: string[], neighbours: number, sampleSize: number) {
    const sets = training.map((t) => new Set(t.items));
    const weights = new Map<string, number>();
    session.forEach((item, position) => {
      weights.set(item, (position + 1) / session.length);
    });
    const candidates = sets
      .map((set, index) => ({ set, index }))
      .filter(({ set }) => session.some((item) => set.has(item)))
      .sort((a, b) => b.index - a.index)
      .slice(0, sampleSize);
    const similar = candidates
      .map(({ set, index }) => {
        let dot = 0;
        for (const [item, weight] of weights) if (set.has(item)) dot += weight;
        return { set, index, similarity: dot / weights.size };
      })
      .sort((a, b) => b.similarity - a.similarity || b.index - a.index)
      .slice(0, neighbours);
    const scores = new Map<string, number>();
    for (const { set, similarity } of similar) {
      let step = 1;
      for (const item of [...session].reverse()) {
        if (set.has(item)) break;
        step++;
      }
      for (const item of set) scores.set(item, (scores.get(item) ?? 0) + similarity / step);
    }
    return scores;
  }

  it("gives the same scores on random sessions, with sampling and neighbour limits in play", async () => {
    let state = 7;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const pick = () => `p${Math.floor(random() * 30)}`;
    const training = Array.from({ length: 300 }, (_, index) => ({
      items: Array.from({ length: 2 + Math.floor(random() * 5) }, pick),
      session_start_ms: index,
    }));
    const recommender = new SknnRecommender(training, { neighbours: 5, sampleSize: 12 });
    for (let trial = 0; trial < 40; trial++) {
      const session = Array.from({ length: 1 + Math.floor(random() * 5) }, pick);
      const expected = reference(training, session, 5, 12);
      const [list] = await recommender.recommend([session], 200);
      const got = new Map((list ?? []).filter((r) => r.score > 0).map((r) => [r.sku, r.score]));
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [sku, score] of expected) expect(got.get(sku)).toBeCloseTo(score, 12);
    }
  });
});
