import { gatherRows, matMul, scatterDense } from "./embedding.ts";
import type { SeededRandom } from "./random.ts";
import type { SessionItemPairs } from "./session-items.ts";
import * as tf from "./tf.ts";

/**
 * The session model: item embedding → GRU → tied output over the catalogue.
 *
 * - Tied weights: the output score of item i is ⟨proj(h), E_i⟩ + b_i with the same E that embeds
 *   the inputs (GRU4Rec's "constrained embedding"); halves the parameters and, on small logs,
 *   generalises better than a separate output matrix.
 * - Repeat scores: an item the session has already shown gets a learned score for how recently it
 *   was read (`repeat_bonus[r]`, r steps back), added to its logit. Re-clicks are a quarter of next
 *   clicks and mostly of the item just read; without this the GRU ranked them far below V-SkNN.
 * - The GRU is written with plain ops rather than `tf.layers.gru`: the whole input projection runs
 *   as one matmul over every time step, only the recurrent matmul stays in the loop, and only the
 *   scored positions reach the output layer (the output layer is where the time goes).
 *
 * Pure factory: `createModelWeights` only allocates; `SessionModel` holds no hidden state.
 */
export interface ModelConfig {
  /** Items in the vocabulary; the embedding has one more row (index 0 pads). */
  readonly vocabularySize: number;
  readonly embeddingDim: number;
  readonly hiddenDim: number;
  readonly maxLength: number;
}

export const WEIGHT_NAMES = [
  "item_embedding",
  "item_bias",
  "gru_input_kernel",
  "gru_input_bias",
  "gru_recurrent_kernel",
  "gru_recurrent_bias",
  "output_projection",
  "repeat_bonus",
] as const;
export type WeightName = (typeof WEIGHT_NAMES)[number];

export function weightShapes(config: ModelConfig): Record<WeightName, [number, number] | [number]> {
  const { vocabularySize: items, embeddingDim: e, hiddenDim: h } = config;
  return {
    item_embedding: [items + 1, e],
    item_bias: [items + 1, 1],
    gru_input_kernel: [e, 3 * h],
    gru_input_bias: [3 * h],
    gru_recurrent_kernel: [h, 3 * h],
    gru_recurrent_bias: [3 * h],
    output_projection: [h, e],
    repeat_bonus: [config.maxLength],
  };
}

function glorot(shape: readonly number[], random: SeededRandom): Float32Array {
  const [fanIn = 1, fanOut = 1] = shape;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let index = 0; index < values.length; index++) values[index] = (random.next() * 2 - 1) * limit;
  return values;
}

let variables = 0;
/** TF.js variable names are process-global; several models (training, champion, tests) coexist. */
export function uniqueVariableName(name: string): string {
  variables += 1;
  return `${name}_${variables}`;
}

export function createModelWeights(config: ModelConfig, random: SeededRandom): Record<WeightName, tf.Variable> {
  const shapes = weightShapes(config);
  const weights = {} as Record<WeightName, tf.Variable>;
  for (const name of WEIGHT_NAMES) {
    const shape = shapes[name];
    const isBias = name.endsWith("bias") || name === "repeat_bonus";
    const values = isBias ? new Float32Array(shape.reduce((a, b) => a * b, 1)) : glorot(shape, random);
    if (name === "item_embedding") values.fill(0, 0, config.embeddingDim); // the padding row
    weights[name] = tf.variable(tf.tensor(values, shape), true, uniqueVariableName(name));
  }
  return weights;
}

export function parameterCount(config: ModelConfig): number {
  return Object.values(weightShapes(config)).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

export interface EncodeOptions {
  /** Dropout rate on embeddings and GRU outputs; 0 (inference) disables it. */
  readonly dropout: number;
  readonly seed?: number;
}

export class SessionModel {
  constructor(
    readonly config: ModelConfig,
    readonly weights: Record<WeightName, tf.Variable>,
  ) {}

  private dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
    return rate > 0 ? tf.dropout(x, rate, undefined, seed) : x;
  }

  /**
   * The session representation after each input: `inputs` is `[batch, length]` item indices
   * (0 pads at the end); returns `[batch × length, embeddingDim]` (row-major, padded positions
   * included — callers pick the positions they need).
   */
  encode(inputs: tf.Tensor2D, options: EncodeOptions): tf.Tensor2D {
    return this.project(this.recurrentStates(inputs, options));
  }

  /** The GRU outputs after each input (dropout applied): `[batch × length, hiddenDim]`. */
  private recurrentStates(inputs: tf.Tensor2D, options: EncodeOptions): tf.Tensor2D {
    const [batch, length] = inputs.shape;
    const h = this.config.hiddenDim;
    const w = this.weights;
    const flat = tf.reshape(inputs, [batch * length]) as tf.Tensor1D;
    let embedded = gatherRows(w.item_embedding, flat) as tf.Tensor2D;
    embedded = this.dropout(embedded, options.dropout, options.seed) as tf.Tensor2D;
    const projected = tf.add(matMul(embedded, w.gru_input_kernel as tf.Tensor2D), w.gru_input_bias);
    const timeMajor = tf.transpose(tf.reshape(projected, [batch, length, 3 * h]), [1, 0, 2]);
    let state: tf.Tensor2D = tf.zeros([batch, h]);
    const states: tf.Tensor2D[] = [];
    for (let t = 0; t < length; t++) {
      const step = tf.reshape(tf.slice(timeMajor, [t, 0, 0], [1, batch, 3 * h]), [batch, 3 * h]);
      const recurrent = tf.add(matMul(state, w.gru_recurrent_kernel as tf.Tensor2D), w.gru_recurrent_bias);
      const [xr, xz, xn] = tf.split(step, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const [hr, hz, hn] = tf.split(recurrent, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const reset = tf.sigmoid(tf.add(xr, hr));
      const update = tf.sigmoid(tf.add(xz, hz));
      const candidate = tf.tanh(tf.add(xn, tf.mul(reset, hn)));
      state = tf.add(candidate, tf.mul(update, tf.sub(state, candidate)));
      states.push(state);
    }
    const outputs = tf.reshape(tf.stack(states, 1), [batch * length, h]);
    return this.dropout(
      outputs,
      options.dropout,
      options.seed === undefined ? undefined : options.seed + 1,
    ) as tf.Tensor2D;
  }

  private project(states: tf.Tensor2D): tf.Tensor2D {
    return matMul(states, this.weights.output_projection as tf.Tensor2D);
  }

  /** Logits over every item (column j is item j + 1): `[n, vocabularySize]`. */
  scoreAll(representation: tf.Tensor2D): tf.Tensor2D {
    const items = this.config.vocabularySize;
    const embedding = tf.slice(this.weights.item_embedding, [1, 0], [items, this.config.embeddingDim]);
    const bias = tf.reshape(tf.slice(this.weights.item_bias, [1, 0], [items, 1]), [items]);
    return tf.add(matMul(representation, embedding as tf.Tensor2D, false, true), bias);
  }

  /**
   * The output layer laid out for inference: the item rows transposed once (`[embeddingDim,
   * vocabularySize]`) and the item biases (`[vocabularySize]`). Only valid while the weights do not
   * change — the caller owns (and disposes) the tensors. Training keeps using `scoreAll`.
   */
  inferenceOutput(): { embeddingT: tf.Tensor2D; bias: tf.Tensor1D } {
    const items = this.config.vocabularySize;
    return tf.tidy(() => {
      const embedding = tf.slice(this.weights.item_embedding, [1, 0], [items, this.config.embeddingDim]);
      // Sliced after the reshape: the wasm fused matmul checks the rank of the bias's own buffer.
      const bias = tf.slice(tf.reshape(this.weights.item_bias, [items + 1]), [1], [items]) as tf.Tensor1D;
      return { embeddingT: tf.transpose(embedding) as tf.Tensor2D, bias };
    });
  }

  /** `scoreAll` with the output layer of `inferenceOutput` (no per-call transpose): `[n, vocabularySize]`. */
  scoreAllForInference(
    representation: tf.Tensor2D,
    output: { embeddingT: tf.Tensor2D; bias: tf.Tensor1D },
  ): tf.Tensor2D {
    // The fused bias add saves a pass over the [n, vocabularySize] logits.
    return tf.fused.matMul({ a: representation, b: output.embeddingT, bias: output.bias }) as tf.Tensor2D;
  }

  /** Logits over a candidate set (item indices), differentiable w.r.t. the tied rows: `[n, candidates]`. */
  scoreCandidates(representation: tf.Tensor2D, candidates: tf.Tensor1D): tf.Tensor2D {
    const rows = gatherRows(this.weights.item_embedding, candidates) as tf.Tensor2D;
    const bias = tf.reshape(gatherRows(this.weights.item_bias, candidates), [-1]);
    return tf.add(matMul(representation, rows, false, true), bias);
  }

  /**
   * The repeat scores to add to `rows × columns` logits: `repeat_bonus[recency]` at each pair of
   * `sessionItemPairs` (differentiable w.r.t. `repeat_bonus`).
   */
  repeatScores(pairs: SessionItemPairs, rows: number, columns: number): tf.Tensor2D {
    if (pairs.count === 0) return tf.zeros([rows, columns]);
    const bonus = gatherRows(this.weights.repeat_bonus, tf.tensor1d(pairs.recency, "int32")) as tf.Tensor1D;
    return scatterDense(tf.tensor2d(pairs.indices, [pairs.count, 2], "int32"), bonus, [rows, columns]);
  }

  /**
   * `logits` with the repeat scores added at the pairs (distinct per row): one copy of the logits
   * (TensorScatterUpdate) instead of a dense scatter and an add over `[rows, items]`. Inference only.
   */
  addRepeatScores(logits: tf.Tensor2D, pairs: SessionItemPairs): tf.Tensor2D {
    if (pairs.count === 0) return logits;
    const cells = tf.tensor2d(pairs.indices, [pairs.count, 2], "int32");
    const bonus = tf.gather(this.weights.repeat_bonus, tf.tensor1d(pairs.recency, "int32"));
    return tf.tensorScatterUpdate(logits, cells, tf.add(tf.gatherND(logits, cells), bonus)) as tf.Tensor2D;
  }

  /** The last `maxLength` items of each session, padded into one batch, and each session's last position. */
  lastInputs(sessions: readonly (readonly number[])[]): { inputs: Int32Array; length: number; last: Int32Array } {
    const length = Math.max(1, ...sessions.map((session) => Math.min(session.length, this.config.maxLength)));
    const inputs = new Int32Array(sessions.length * length);
    const last = new Int32Array(sessions.length);
    sessions.forEach((session, row) => {
      const recent = session.slice(-this.config.maxLength);
      inputs.set(recent, row * length);
      last[row] = row * length + Math.max(0, recent.length - 1);
    });
    return { inputs, length, last };
  }

  /** The representation after the last item of each session: `[batch, embeddingDim]`. */
  encodeLast(sessions: readonly (readonly number[])[]): tf.Tensor2D {
    const { inputs, length, last } = this.lastInputs(sessions);
    return tf.tidy(() => {
      // Only the last state of each session is projected: inference needs nothing else.
      const states = this.recurrentStates(tf.tensor2d(inputs, [sessions.length, length], "int32"), { dropout: 0 });
      return this.project(tf.gather(states, tf.tensor1d(last, "int32")));
    });
  }

  dispose(): void {
    for (const weight of Object.values(this.weights)) weight.dispose();
  }
}
