import type { Recommendation } from "../ports/model-host.ts";
import type { SessionModel } from "./gru4rec.ts";
import type { LoadedModel, ModelMetadata } from "./load.ts";
import type { SessionNeighbours } from "./neighbours.ts";
import { sessionItemPairs } from "./session-items.ts";
import * as tf from "./tf.ts";
import type { ItemVocabulary } from "./vocabulary.ts";

/**
 * The trained model behind the `Recommender` interface: sessions of SKUs in, ranked SKUs with
 * scores out — the GRU's softmax probabilities p blended with the session-kNN's normalised scores s
 * as `(1 − w)·p + w·s` (p alone for an archive without neighbours). Items already in the session
 * stay eligible (repeat clicks are a large share of next clicks); unknown items are skipped; a
 * session with no known item gets the popularity fallback and is flagged.
 */
export class SessionRecommender implements LoadedModel {
  /** What the report calls it: the GRU, with "+sknn" when the neighbours take part in the blend. */
  get name(): string {
    return this.neighbours && this.neighbours.settings.weight > 0 ? "gru4rec+sknn" : "gru4rec";
  }

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
      const votes = this.neighbourVotes(ordered.map((items) => items.slice(-maxLength)));
      const { values, indices, voted } = tf.tidy(() => {
        const parts = order.buckets.map((rows) => this.model.encodeLast(rows.map((row) => encoded[row] as number[])));
        const representation = parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0);
        const logits = this.model.addRepeatScores(this.model.scoreAllForInference(representation, output), pairs);
        // A full softmax then top-k: on wasm the fused softmax kernel is cheaper than a separate
        // logSumExp next to a top-k over the logits (measured 80 ms vs 180 ms for 512 × 20k).
        const probabilities = tf.softmax(logits);
        const top = tf.topk(probabilities, depth, true);
        const cells = tf.tensor2d(votes.cells, [votes.count, 2], "int32");
        return { ...top, voted: votes.count > 0 ? tf.gatherND(probabilities, cells) : tf.zeros([0]) };
      });
      const [scores, columns, votedProbabilities] = await Promise.all([values.data(), indices.data(), voted.data()]);
      tf.dispose([values, indices, voted]);
      order.rows.forEach((row, position) => {
        recommendations[row] = this.blend(
          scores.subarray(position * depth, (position + 1) * depth) as Float32Array,
          columns.subarray(position * depth, (position + 1) * depth) as Int32Array,
          votes,
          votedProbabilities as Float32Array,
          position,
          depth,
        );
      });
    }
    fallback.forEach((isFallback, row) => {
      if (isFallback) recommendations[row] = this.popular.slice(0, k).map((item) => ({ ...item }));
    });
    return { recommendations, fallback };
  }

  /** The neighbours' normalised votes per row (rows in order, each row's votes contiguous). */
  private neighbourVotes(sessions: readonly (readonly number[])[]): NeighbourVotes {
    const cells: number[] = [];
    const scores: number[] = [];
    const rowStart = new Int32Array(sessions.length + 1);
    if (this.neighbours && this.neighbours.settings.weight > 0) {
      this.neighbours.normalisedScores(sessions, (row, item, score) => {
        cells.push(row, item - 1);
        scores.push(score);
        rowStart[row + 1] = scores.length;
      });
    }
    for (let row = 1; row <= sessions.length; row++) {
      rowStart[row] = Math.max(rowStart[row] as number, rowStart[row - 1] as number);
    }
    return { cells: Int32Array.from(cells), scores: Float64Array.from(scores), rowStart, count: scores.length };
  }

  /**
   * One row's ranking, `(1 − w)·p + w·s` best first (p alone without neighbours). Only the model's
   * top `depth` and the items the neighbours voted for can rank: any other item has s = 0 and at
   * most the p of each of the top `depth`, so the blend is exact without a pass over the catalogue
   * (and without copying the catalogue's probabilities out of the backend).
   */
  private blend(
    topScores: Float32Array,
    topColumns: Int32Array,
    votes: NeighbourVotes,
    votedProbabilities: Float32Array,
    row: number,
    depth: number,
  ): Recommendation[] {
    const weight = this.neighbours?.settings.weight ?? 0;
    const keep = 1 - weight;
    const bestColumns = new Int32Array(depth);
    const bestScores = new Float32Array(depth);
    let found = 0;
    const stamp = ++this.voteStamp;
    this.voteMark ??= new Int32Array(this.vocabulary.size);
    const voteMark = this.voteMark;
    for (let at = votes.rowStart[row] as number; at < (votes.rowStart[row + 1] as number); at++) {
      const column = votes.cells[2 * at + 1] as number;
      voteMark[column] = stamp;
      const score = keep * (votedProbabilities[at] as number) + weight * (votes.scores[at] as number);
      found = insertTop(bestColumns, bestScores, found, column, score);
    }
    topColumns.forEach((column, rank) => {
      if (voteMark[column] !== stamp) {
        found = insertTop(bestColumns, bestScores, found, column, keep * (topScores[rank] as number));
      }
    });
    return Array.from(bestColumns.subarray(0, found), (column, rank) => ({
      sku: this.vocabulary.skuAt(column + 1),
      score: bestScores[rank] as number,
    }));
  }

  /** Which columns the current row's neighbours voted for (stamped per row instead of cleared). */
  private voteMark: Int32Array | undefined;
  private voteStamp = 0;

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

/** The session-kNN's votes for a batch: `(row, item − 1)` cells and normalised scores, rows contiguous. */
interface NeighbourVotes {
  readonly cells: Int32Array;
  readonly scores: Float64Array;
  /** Row r's votes are `[rowStart[r], rowStart[r + 1])`. */
  readonly rowStart: Int32Array;
  readonly count: number;
}

/**
 * Offers `column` with `score` to a best-first list of at most `columns.length` entries holding
 * `found` of them; returns the new count. Equal scores keep the earlier offer first.
 */
function insertTop(columns: Int32Array, scores: Float32Array, found: number, column: number, score: number): number {
  const depth = columns.length;
  if (found === depth && score <= (scores[depth - 1] as number)) return found;
  let at = found < depth ? found : depth - 1;
  while (at > 0 && score > (scores[at - 1] as number)) {
    scores[at] = scores[at - 1] as number;
    columns[at] = columns[at - 1] as number;
    at--;
  }
  scores[at] = score;
  columns[at] = column;
  return found < depth ? found + 1 : found;
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
