import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../core/model/backend.ts";
import { gatherRows, matMul, scatterDense, sparseSoftmaxCrossEntropy } from "../../../core/model/embedding.ts";
import { createModelWeights, parameterCount, SessionModel } from "../../../core/model/gru4rec.ts";
import { SeededRandom } from "../../../core/model/random.ts";
import * as tf from "../../../core/model/tf.ts";

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

describe("scatterDense", () => {
  it("places values in a dense tensor, summing duplicates, with the gathered gradient for the values", () => {
    const indices = tf.tensor2d(
      [
        [0, 2],
        [1, 0],
        [0, 2],
      ],
      [3, 2],
      "int32",
    );
    const values = tf.tensor1d([1, 2, 3]);
    expect(scatterDense(indices, values, [2, 3]).arraySync()).toEqual([
      [0, 0, 4],
      [2, 0, 0],
    ]);
    const upstream = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const gradient = tf.grad((source: tf.Tensor) =>
      tf.sum(tf.mul(scatterDense(indices, source as tf.Tensor1D, [2, 3]), upstream)),
    )(values);
    expect(gradient.arraySync()).toEqual([3, 4, 3]);
  });
});

describe("sparseSoftmaxCrossEntropy", () => {
  it("matches tf.losses.softmaxCrossEntropy with one-hot labels, value and gradient", () => {
    const logits = tf.mul(tf.randomNormal([6, 9], 0, 1, "float32", 4), 5) as tf.Tensor2D;
    const labels = Int32Array.from([0, 8, 3, 3, 5, 1]);
    const stock = (x: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, "int32"), 9), x as tf.Tensor2D) as tf.Scalar;
    const ours = (x: tf.Tensor) => sparseSoftmaxCrossEntropy(x as tf.Tensor2D, labels);
    expect(ours(logits).dataSync()[0]).toBeCloseTo(stock(logits).dataSync()[0] as number, 5);
    const difference = tf.max(tf.abs(tf.sub(tf.grad(ours)(logits), tf.grad(stock)(logits))));
    expect(difference.dataSync()[0]).toBeLessThan(1e-6);
  });
});

describe("matMul", () => {
  it.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])("matches tf.matMul and its gradients (transposeA %s, transposeB %s)", (transposeA, transposeB) => {
    const a = tf.randomNormal(transposeA ? [4, 3] : [3, 4], 0, 1, "float32", 1) as tf.Tensor2D;
    const b = tf.randomNormal(transposeB ? [5, 4] : [4, 5], 0, 1, "float32", 2) as tf.Tensor2D;
    const weights = tf.randomNormal([3, 5], 0, 1, "float32", 3);
    const loss = (f: typeof matMul) => (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(f(x as tf.Tensor2D, y as tf.Tensor2D, transposeA, transposeB), weights));
    const ours = tf.grads(loss(matMul))([a, b]);
    const stock = tf.grads(loss((x, y, ta, tb) => tf.matMul(x, y, ta, tb)))([a, b]);
    const close = (x: tf.Tensor, y: tf.Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] as number;
    expect(close(matMul(a, b, transposeA, transposeB), tf.matMul(a, b, transposeA, transposeB))).toBeLessThan(1e-5);
    expect(close(ours[0] as tf.Tensor, stock[0] as tf.Tensor)).toBeLessThan(1e-5);
    expect(close(ours[1] as tf.Tensor, stock[1] as tf.Tensor)).toBeLessThan(1e-5);
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
    expect(parameterCount(config)).toBe(31 * 8 + 31 + 8 * 36 + 36 + 12 * 36 + 36 + 12 * 8 + 5);
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
