import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../core/model/backend.ts";
import { createModelWeights, SessionModel } from "../../../core/model/gru4rec.ts";
import type { ModelMetadata } from "../../../core/model/load.ts";
import { SeededRandom } from "../../../core/model/random.ts";
import { bucketByLength, SessionRecommender } from "../../../core/model/session-recommender.ts";
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

/** The straightforward path: one batch padded to its longest session, full softmax, top-k. */
async function reference(model: SessionModel, sessions: readonly (readonly string[])[], k: number) {
  const encoded = sessions.map((session) => vocabulary.encode(session));
  const known = encoded.flatMap((items, row) => (items.length > 0 ? [row] : []));
  const { values, indices } = tf.tidy(() =>
    tf.topk(tf.softmax(model.scoreAll(model.encodeLast(known.map((row) => encoded[row] as number[])))), k, true),
  );
  const [scores, columns] = [await values.data(), await indices.data()];
  tf.dispose([values, indices]);
  const lists: { sku: string; score: number }[][] = sessions.map(() => []);
  known.forEach((row, position) => {
    for (let rank = 0; rank < k; rank++) {
      const offset = position * k + rank;
      lists[row]?.push({ sku: vocabulary.skuAt((columns[offset] as number) + 1), score: scores[offset] as number });
    }
  });
  return lists;
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
      const { recommendations, fallback } = await recommender.recommendWithFallback(sessions, k);
      expect(fallback).toEqual(sessions.map((session) => !session.some((sku) => sku !== "unknown-sku")));
      recommendations.forEach((list, row) => {
        if (fallback[row]) {
          expect(list).toEqual(popular);
          return;
        }
        const wanted = expected[row] ?? [];
        expect(list.map((item) => item.sku)).toEqual(wanted.map((item) => item.sku));
        list.forEach((item, rank) => {
          expect(item.score).toBeCloseTo(wanted[rank]?.score ?? Number.NaN, 6);
        });
      });
    }
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
