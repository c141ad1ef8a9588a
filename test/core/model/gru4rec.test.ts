import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../core/model/backend.ts";
import { gatherRows } from "../../../core/model/embedding.ts";
import { createModelWeights, parameterCount, SessionModel } from "../../../core/model/gru4rec.ts";
import { SeededRandom } from "../../../core/model/random.ts";

const config = { vocabularySize: 30, embeddingDim: 8, hiddenDim: 12, maxLength: 5 };

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
});

describe("gatherRows", () => {
  it("has the dense gradient of a row lookup, summing repeated rows (scatterND, no UnsortedSegmentSum)", () => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const indices = tf.tensor1d([2, 0, 2], "int32");
    const gradient = tf.grad((source: tf.Tensor) => tf.sum(tf.mul(gatherRows(source, indices), [[1, 10]])))(table);
    expect(gradient.arraySync()).toEqual([
      [1, 10],
      [0, 0],
      [2, 20],
    ]);
  });
});

describe("SessionModel", () => {
  it("encodes [batch, length] inputs to one representation per position and scores the whole catalogue", () => {
    const model = new SessionModel(config, createModelWeights(config, new SeededRandom(1)));
    const inputs = tf.tensor2d(
      [
        [1, 2, 3, 0],
        [4, 5, 0, 0],
      ],
      [2, 4],
      "int32",
    );
    const representation = model.encode(inputs, { dropout: 0 });
    expect(representation.shape).toEqual([8, config.embeddingDim]);
    expect(model.scoreAll(representation).shape).toEqual([8, config.vocabularySize]);
    expect(model.scoreCandidates(representation, tf.tensor1d([3, 9, 1], "int32")).shape).toEqual([8, 3]);
    expect(model.encodeLast([[1, 2, 3], [7], [1, 2, 3, 4, 5, 6, 7, 8]]).shape).toEqual([3, config.embeddingDim]);
    expect(parameterCount(config)).toBe(31 * 8 + 31 + 8 * 36 + 36 + 12 * 36 + 36 + 12 * 8);
    model.dispose();
  });

  it("reads only the last maxLength items of a long session and ignores padding", () => {
    const model = new SessionModel(config, createModelWeights(config, new SeededRandom(2)));
    const long = model.encodeLast([[9, 9, 9, 1, 2, 3, 4, 5]]);
    const recent = model.encodeLast([[1, 2, 3, 4, 5]]);
    const padded = model.encodeLast([[1, 2, 3, 4, 5], [6]]);
    expect(Array.from(long.dataSync())).toEqual(Array.from(recent.dataSync()));
    expect(Array.from(padded.dataSync()).slice(0, 8)).toEqual(Array.from(recent.dataSync()));
    model.dispose();
  });
});
