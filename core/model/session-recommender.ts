import * as tf from "@tensorflow/tfjs";
import type { Recommendation } from "../ports/model-host.ts";
import type { SessionModel } from "./gru4rec.ts";
import type { LoadedModel, ModelMetadata } from "./load.ts";
import type { SessionNeighbours } from "./neighbours.ts";
import { sessionItemPairs } from "./session-items.ts";
import type { ItemVocabulary } from "./vocabulary.ts";

/**
 * The trained model behind the `Recommender` interface: sessions of SKUs in, ranked SKUs with
 * scores out — the GRU's softmax probabilities p blended with the session-kNN's normalised scores s
 * as `(1 − w)·p + w·s` (p alone for an archive without neighbours). Items already in the session
 * stay eligible (repeat clicks are a large share of next clicks); unknown items are skipped; a
 * session with no known item gets the popularity fallback and is flagged.
 */
export class SessionRecommender implements LoadedModel {
  readonly name = "gru4rec";

  constructor(
    readonly model: SessionModel,
    readonly vocabulary: ItemVocabulary,
    private readonly popular: readonly Recommendation[],
    readonly metadata: ModelMetadata,
    readonly backend: string,
    readonly neighbours?: SessionNeighbours,
  ) {}

  async recommendWithFallback(
    sessions: readonly (readonly string[])[],
    k: number,
  ): Promise<{ recommendations: Recommendation[][]; fallback: boolean[] }> {
    const depth = Math.max(0, Math.min(Math.floor(k), this.vocabulary.size));
    const encoded = sessions.map((session) => this.vocabulary.encode(session));
    const knownRows = encoded.flatMap((items, row) => (items.length > 0 ? [row] : []));
    const recommendations: Recommendation[][] = sessions.map(() => []);
    const fallback = encoded.map((items) => items.length === 0);
    if (knownRows.length > 0 && depth > 0) {
      // Rows are encoded in length buckets so a batch of mostly short prefixes is not padded to
      // its longest one; the representations are concatenated (bucket order) and scored at once.
      const maxLength = this.model.config.maxLength;
      const order = bucketByLength(knownRows, (row) => Math.min((encoded[row] as number[]).length, maxLength));
      const output = this.inferenceOutput();
      const ordered = order.rows.map((row) => encoded[row] as number[]);
      const { inputs, length, last } = this.model.lastInputs(ordered);
      const pairs = sessionItemPairs(inputs, length, last);
      const weight = this.neighbours?.settings.weight ?? 0;
      const blend = this.neighbours?.blendTerms(
        ordered.map((items) => items.slice(-maxLength).map((item) => this.vocabulary.skuAt(item))),
      );
      const { values, indices } = tf.tidy(() => {
        const parts = order.buckets.map((rows) => this.model.encodeLast(rows.map((row) => encoded[row] as number[])));
        const representation = parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0);
        const logits = tf.add(
          this.model.scoreAllForInference(representation, output),
          this.model.repeatScores(pairs, ordered.length, this.vocabulary.size),
        );
        // A full softmax then top-k: on wasm the fused softmax kernel is cheaper than a separate
        // logSumExp next to a top-k over the logits (measured 80 ms vs 180 ms for 512 × 20k).
        const probabilities = tf.softmax(logits);
        if (!blend || blend.count === 0 || weight === 0) return tf.topk(probabilities, depth, true);
        const knn = tf.scatterND(tf.tensor2d(blend.indices, [blend.count, 2], "int32"), blend.values, [
          ordered.length,
          this.vocabulary.size,
        ]);
        return tf.topk(tf.add(tf.mul(probabilities, 1 - weight), knn), depth, true);
      });
      const [scores, columns] = await Promise.all([values.data(), indices.data()]);
      values.dispose();
      indices.dispose();
      order.rows.forEach((row, position) => {
        const list: Recommendation[] = [];
        for (let rank = 0; rank < depth; rank++) {
          const offset = position * depth + rank;
          list.push({ sku: this.vocabulary.skuAt((columns[offset] as number) + 1), score: scores[offset] as number });
        }
        recommendations[row] = list;
      });
    }
    fallback.forEach((isFallback, row) => {
      if (isFallback) recommendations[row] = this.popular.slice(0, k).map((item) => ({ ...item }));
    });
    return { recommendations, fallback };
  }

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    return (await this.recommendWithFallback(sessions, k)).recommendations;
  }

  private output: { embeddingT: tf.Tensor2D; bias: tf.Tensor1D } | undefined;

  /** The transposed output layer, computed once: the weights of a loaded model do not change. */
  private inferenceOutput(): { embeddingT: tf.Tensor2D; bias: tf.Tensor1D } {
    this.output ??= this.model.inferenceOutput();
    return this.output;
  }

  dispose(): void {
    if (this.output) {
      this.output.embeddingT.dispose();
      this.output.bias.dispose();
      this.output = undefined;
    }
    this.model.dispose();
  }
}

/** Upper bounds of the encoding buckets; the last bucket takes everything longer. */
const LENGTH_BUCKETS = [2, 4, 8] as const;

/** Groups rows by length bucket (non-empty buckets only) and lists the rows in that order. */
export function bucketByLength(
  rows: readonly number[],
  lengthOf: (row: number) => number,
): { buckets: number[][]; rows: number[] } {
  const grouped: number[][] = Array.from({ length: LENGTH_BUCKETS.length + 1 }, () => []);
  for (const row of rows) {
    const length = lengthOf(row);
    const bucket = LENGTH_BUCKETS.findIndex((bound) => length <= bound);
    (grouped[bucket === -1 ? LENGTH_BUCKETS.length : bucket] as number[]).push(row);
  }
  const buckets = grouped.filter((bucket) => bucket.length > 0);
  return { buckets, rows: buckets.flat() };
}
