import { describe, expect, it } from "vitest";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { countItems, PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { type BehaviouralTest, overlapAtK, runBehaviouralTests } from "../../../core/evaluation/behavioural.ts";
import { testPoints } from "../../../core/evaluation/metrics.ts";
import type { Recommender } from "../../../core/model/recommender.ts";
import { markovSessions } from "./synthetic-sessions.ts";

const train = markovSessions(400, { seed: 3 });
const points = testPoints(markovSessions(60, { seed: 4 }).map((session) => session.items));
const itemCounts = countItems(train);
const cooccurrence = CooccurrenceRecommender.fromSessions(train);
const options = {
  k: 10,
  itemCounts,
  similarItem: (sku: string) => cooccurrence.nearestNeighbour(sku),
  similarity: "nearest co-occurrence neighbour",
  sampleSize: 200,
};
const byName = (tests: BehaviouralTest[], name: string) => tests.find((test) => test.name === name);

describe("behavioural tests", () => {
  it("overlap@k counts shared items over k", () => {
    const list = (...skus: string[]) => skus.map((sku) => ({ sku, score: 1 }));
    expect(overlapAtK(list("a", "b", "c"), list("c", "a", "x"), 3)).toBeCloseTo(2 / 3, 12);
  });

  it("shows popularity ignores the input entirely", async () => {
    const tests = await runBehaviouralTests(PopularityRecommender.fromSessions(train), points, options);
    expect(byName(tests, "perturbation")?.value).toBe(1);
    expect(byName(tests, "prefix shuffle")?.value).toBe(1);
    expect(byName(tests, "cold items")?.value).toBe(1);
  });

  it("shows co-occurrence reacts to the last item and its order", async () => {
    const tests = await runBehaviouralTests(cooccurrence, points, options);
    expect(byName(tests, "perturbation")?.value).toBeLessThan(0.9);
    expect(byName(tests, "prefix shuffle")?.value).toBeLessThan(0.9);
    expect(byName(tests, "repeat handling")?.detail).toMatch(/of \d+ sampled targets are repeats/);
  });

  it("gives a verdict only when a threshold is set, and fails a model without a fallback", async () => {
    const noFallback: Recommender = {
      name: "no-fallback",
      recommend: (sessions, k) =>
        cooccurrence
          .recommend(sessions, k)
          .then((lists) =>
            lists.map((list, index) => (sessions[index]?.some((sku) => itemCounts.has(sku)) ? list : [])),
          ),
    };
    const tests = await runBehaviouralTests(noFallback, points, { ...options, thresholds: { "cold items": 1 } });
    expect(byName(tests, "cold items")).toMatchObject({ value: 0, threshold: 1, passed: false });
    expect(byName(tests, "perturbation")?.passed).toBeUndefined();
  });
});
