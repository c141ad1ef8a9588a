import { beforeAll, describe, expect, it } from "vitest";
import { SknnRecommender } from "../../../core/baselines/sknn.ts";
import { selectBackend } from "../../../core/model/backend.ts";
import { createModelWeights, SessionModel } from "../../../core/model/gru4rec.ts";
import type { ModelMetadata } from "../../../core/model/load.ts";
import { SessionNeighbours } from "../../../core/model/neighbours.ts";
import { SeededRandom } from "../../../core/model/random.ts";
import { bucketByLength, SessionRecommender } from "../../../core/model/session-recommender.ts";
import * as tf from "../../../core/model/tf.ts";
import { ItemVocabulary } from "../../../core/model/vocabulary.ts";

const ITEMS = 60;
const MAX_LENGTH = 12;
const vocabulary = ItemVocabulary.build([Array.from({ length: ITEMS }, (_, item) => `sku-${item}`)]);
const popular = [{ sku: "sku-0", score: 0.5 }];

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
});

function randomModel(seed: number): SessionModel {
  const config = { vocabularySize: vocabulary.size, embeddingDim: 16, hiddenDim: 12, maxLength: MAX_LENGTH };
  // In a tidy scope: the initial values are released, the variables stay.
  const weights = tf.tidy(() => {
    const created = createModelWeights(config, new SeededRandom(seed));
    // Non-zero biases, so a scorer that dropped or misaligned them would rank differently.
    created.item_bias.assign(tf.randomNormal([ITEMS + 1, 1], 0, 1, "float32", seed));
    // Repeat scores large enough to reorder the ranking, smaller for older items.
    created.repeat_bonus.assign(tf.linspace(3, 0.5, MAX_LENGTH));
    return created;
  });
  return new SessionModel(config, weights);
}

/** Lengths from 0 (no known item → fallback) to beyond maxLength, shuffled, with unknown SKUs mixed in. */
function randomSessions(count: number, seed: number): string[][] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => {
    const length = random.int(MAX_LENGTH + 8);
    return Array.from({ length }, () => (random.next() < 0.1 ? "unknown-sku" : `sku-${random.int(ITEMS)}`));
  });
}

/**
 * The straightforward path, written independently: one batch padded to its longest session, the
 * repeat bonus added item by item in plain JavaScript, full softmax, the kNN blend in plain
 * JavaScript, then a sort.
 */
async function reference(
  model: SessionModel,
  sessions: readonly (readonly string[])[],
  k: number,
  neighbours?: { weight: number; knn: SknnRecommender },
) {
  const encoded = sessions.map((session) => vocabulary.encode(session));
  const known = encoded.flatMap((items, row) => (items.length > 0 ? [row] : []));
  const logits = tf.tidy(() => model.scoreAll(model.encodeLast(known.map((row) => encoded[row] as number[]))));
  const values = (await logits.array()) as number[][];
  logits.dispose();
  const bonus = Array.from(await model.weights.repeat_bonus.data());
  const lists: { sku: string; score: number }[][] = sessions.map(() => []);
  known.forEach((row, position) => {
    const recent = (encoded[row] as number[]).slice(-MAX_LENGTH);
    const scores = values[position] as number[];
    const seen = new Set<number>();
    for (let at = recent.length - 1; at >= 0; at--) {
      const item = recent[at] as number;
      if (seen.has(item)) continue;
      seen.add(item);
      scores[item - 1] = (scores[item - 1] as number) + (bonus[recent.length - 1 - at] as number);
    }
    const top = Math.max(...scores);
    const exp = scores.map((score) => Math.exp(score - top));
    const total = exp.reduce((a, b) => a + b, 0);
    let blended = exp.map((value) => value / total);
    if (neighbours) {
      const knn = new Map<string, number>();
      neighbours.knn.forEachScore(
        recent.map((item) => vocabulary.skuAt(item)),
        (sku, score) => knn.set(sku, score),
      );
      const best = Math.max(0, ...knn.values());
      blended = blended.map(
        (p, column) =>
          (1 - neighbours.weight) * p +
          (best > 0 ? (neighbours.weight * (knn.get(vocabulary.skuAt(column + 1)) ?? 0)) / best : 0),
      );
    }
    lists[row] = blended
      .map((score, column) => ({ sku: vocabulary.skuAt(column + 1), score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  });
  return lists;
}

function expectSameLists(
  actual: { recommendations: { sku: string; score: number }[][]; fallback: boolean[] },
  expected: { sku: string; score: number }[][],
  sessions: readonly (readonly string[])[],
) {
  expect(actual.fallback).toEqual(sessions.map((session) => !session.some((sku) => sku !== "unknown-sku")));
  actual.recommendations.forEach((list, row) => {
    if (actual.fallback[row]) {
      expect(list).toEqual(popular);
      return;
    }
    const wanted = expected[row] ?? [];
    expect(list.map((item) => item.sku)).toEqual(wanted.map((item) => item.sku));
    list.forEach((item, rank) => {
      expect(item.score).toBeCloseTo(wanted[rank]?.score ?? Number.NaN, 5);
    });
  });
}

describe("bucketByLength", () => {
  it("groups rows into length buckets, keeping the input order within each", () => {
    const lengths = [1, 9, 3, 2, 20, 4, 5, 1];
    const { buckets, rows } = bucketByLength([0, 1, 2, 3, 4, 5, 6, 7], (row) => lengths[row] as number);
    expect(buckets).toEqual([[0, 3, 7], [2, 5], [6], [1, 4]]);
    expect(rows).toEqual([0, 3, 7, 2, 5, 6, 1, 4]);
  });
});

describe("SessionRecommender.recommendWithFallback", () => {
  it("returns the straightforward path's recommendations, in the original row order (bucketed, cached output layer)", async () => {
    const model = randomModel(11);
    const recommender = new SessionRecommender(model, vocabulary, popular, {} as ModelMetadata, "wasm");
    const sessions = randomSessions(300, 5);
    const k = 10;
    const expected = await reference(model, sessions, k);
    for (let call = 0; call < 2; call++) {
      // The second call reuses the cached transposed embedding.
      expectSameLists(await recommender.recommendWithFallback(sessions, k), expected, sessions);
    }
    recommender.dispose();
  });

  it("blends in the session-kNN's normalised scores with the model's weight", async () => {
    const model = randomModel(13);
    const history = randomSessions(400, 8)
      .map((session) => vocabulary.encode(session))
      .filter((s) => s.length > 0);
    const neighbours = new SessionNeighbours({ weight: 0.4, neighbours: 20, sampleSize: 100 }, history, vocabulary);
    const recommender = new SessionRecommender(model, vocabulary, popular, {} as ModelMetadata, "wasm", neighbours);
    const knn = new SknnRecommender(
      history.map((items, index) => ({ items: items.map((item) => vocabulary.skuAt(item)), session_start_ms: index })),
      { neighbours: 20, sampleSize: 100 },
    );
    const sessions = randomSessions(120, 9);
    const expected = await reference(model, sessions, 10, { weight: 0.4, knn });
    const actual = await recommender.recommendWithFallback(sessions, 10);
    expectSameLists(actual, expected, sessions);
    expect(recommender.name).toBe("gru4rec+sknn");
    // The blend changes the ranking: without neighbours the lists differ.
    const alone = await reference(model, sessions, 10);
    expect(actual.recommendations.filter((list, row) => list[0]?.sku !== alone[row]?.[0]?.sku).length).toBeGreaterThan(
      5,
    );
    recommender.dispose();
  });

  it("leaks no tensors across calls and frees the cached output layer on dispose", async () => {
    const before = tf.memory().numTensors;
    const recommender = new SessionRecommender(randomModel(12), vocabulary, popular, {} as ModelMetadata, "wasm");
    const sessions = randomSessions(50, 6);
    await recommender.recommendWithFallback(sessions, 5);
    const afterFirst = tf.memory().numTensors;
    await recommender.recommendWithFallback(sessions, 5);
    expect(tf.memory().numTensors).toBe(afterFirst);
    recommender.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
