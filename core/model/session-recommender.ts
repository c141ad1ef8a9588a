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
      const probabilities = tf.tidy(() => {
        const parts = order.buckets.map((rows) => this.model.encodeLast(rows.map((row) => encoded[row] as number[])));
        const representation = parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0);
        const logits = this.model.addRepeatScores(this.model.scoreAllForInference(representation, output), pairs);
        return tf.softmax(logits);
      });
      // Top-k in JavaScript over the copied probabilities: on wasm the TopK kernel takes longer than
      // the copy and a scan (measured on 512 × 20k), and the scan blends in the neighbours' votes
      // on the way (an item's kNN score is only known here).
      const values = (await probabilities.data()) as Float32Array;
      probabilities.dispose();
      const items = this.vocabulary.size;
      order.rows.forEach((row, position) => {
        recommendations[row] = this.rank(
          values.subarray(position * items, (position + 1) * items),
          (ordered[position] as number[]).slice(-maxLength),
          depth,
        );
      });
    }
    fallback.forEach((isFallback, row) => {
      if (isFallback) recommendations[row] = this.popular.slice(0, k).map((item) => ({ ...item }));
    });
    return { recommendations, fallback };
  }

  /**
   * One session's ranking: `(1 − w)·p + w·s` best first (p alone without neighbours), by insertion
   * into a `depth`-long list (depth ≤ 100, and most items fall below the list's last at once).
   * Ties keep the lower item index first, as TF.js's topk does.
   */
  private rank(probabilities: Float32Array, session: readonly number[], depth: number): Recommendation[] {
    const weight = this.neighbours?.settings.weight ?? 0;
    this.knnScores ??= new Float32Array(this.vocabulary.size);
    const knnScores = this.knnScores;
    const voted: number[] = [];
    if (this.neighbours && weight > 0) {
      this.neighbours.normalisedScores([session], (_, item, score) => {
        knnScores[item - 1] = score;
        voted.push(item - 1);
      });
    }
    const bestColumns = new Int32Array(depth);
    const bestScores = new Float32Array(depth);
    const found = selectTop(probabilities, knnScores, 1 - weight, weight, bestColumns, bestScores);
    for (const column of voted) knnScores[column] = 0;
    return Array.from(bestColumns.subarray(0, found), (column, rank) => ({
      sku: this.vocabulary.skuAt(column + 1),
      score: bestScores[rank] as number,
    }));
  }

  /** The current session's kNN scores by column, zeroed again after each use. */
  private knnScores: Float32Array | undefined;

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

/**
 * The best `columns.length` columns of `keep·p + weight·s`, best first, written into `columns` and
 * `scores`; returns how many were found. Insertion into the short list: most columns fall below its
 * last entry at once, so the scan costs one multiply-add and one comparison per column.
 */
function selectTop(
  probabilities: Float32Array,
  knnScores: Float32Array,
  keep: number,
  weight: number,
  columns: Int32Array,
  scores: Float32Array,
): number {
  const depth = columns.length;
  let found = 0;
  let worst = Number.NEGATIVE_INFINITY;
  for (let column = 0; column < probabilities.length; column++) {
    const score = keep * (probabilities[column] as number) + weight * (knnScores[column] as number);
    if (score <= worst) continue;
    let at = found < depth ? found++ : depth - 1;
    while (at > 0 && score > (scores[at - 1] as number)) {
      scores[at] = scores[at - 1] as number;
      columns[at] = columns[at - 1] as number;
      at--;
    }
    scores[at] = score;
    columns[at] = column;
    if (found === depth) worst = scores[depth - 1] as number;
  }
  return found;
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
