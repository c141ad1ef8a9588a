import { sessionItems } from "../evaluation/metrics.ts";
import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { countItems, fillWithPopular, rankByCount } from "./popularity.ts";

export interface SknnOptions {
  /** Nearest neighbour sessions whose items are scored. @default 100 */
  readonly neighbours?: number;
  /** Most recent candidate sessions that contain an item of the current session. @default 500 */
  readonly sampleSize?: number;
}

/** A training session with the time that orders sessions for "most recent" sampling. */
export interface TimedSession {
  readonly items: readonly string[];
  readonly session_start_ms?: number;
}

/**
 * V-SkNN, "vector multiplication session-based kNN" (Ludewig & Jannach 2018, session-rec's
 * `VMContextKNN` with weighting `div` and score weighting `div`), written here because no
 * maintained JavaScript implementation exists:
 *
 * - candidates: training sessions that contain any item of the current session; the `sampleSize`
 *   most recent of them;
 * - similarity: the current session as a vector whose item at position p (1-based, of L) weighs
 *   p / L, dotted with the candidate's binary item vector, divided by the number of distinct items;
 * - the `neighbours` most similar candidates vote for each of their items with similarity × 1/s,
 *   where s is how many steps from the end of the current session the most recent item shared with
 *   that neighbour is.
 *
 * Memory is bounded: each item keeps only its `sampleSize` most recent sessions. That is exact, not
 * an approximation: the `sampleSize` most recent sessions of a union are among the `sampleSize`
 * most recent sessions of each of its parts.
 */
export class SknnRecommender implements Recommender {
  readonly name = "sknn";
  private readonly neighbours: number;
  private readonly sampleSize: number;
  /** Item id → SKU and back. */
  private readonly skus: string[] = [];
  private readonly ids = new Map<string, number>();
  /** Session (ordered oldest first, so a larger index is more recent) → its distinct item ids. */
  private readonly sessions: Int32Array[] = [];
  /** Item id → the ids of its most recent sessions, most recent first. */
  private readonly sessionsOfItem: Int32Array[] = [];
  private readonly popular: Recommendation[];
  // Scratch space reused by every query instead of allocating maps per session.
  private readonly candidateMark: Int32Array;
  /** Room for every candidate of a query: at most `sampleSize` sessions per distinct known item. */
  private candidates = new Int32Array(0);
  private readonly itemWeight: Float64Array;
  private readonly itemLastStep: Int32Array;
  private readonly itemMark: Int32Array;
  private readonly itemScore: Float64Array;
  private readonly scoreMark: Int32Array;
  private stamp = 0;

  constructor(trainingSessions: readonly TimedSession[], options: SknnOptions = {}) {
    this.neighbours = options.neighbours ?? 100;
    this.sampleSize = options.sampleSize ?? 500;
    const ordered = trainingSessions
      .map((session, index) => ({ session, index }))
      .sort((a, b) => (a.session.session_start_ms ?? 0) - (b.session.session_start_ms ?? 0) || a.index - b.index);
    const recent: number[][] = [];
    for (const { session } of ordered) {
      const distinct = new Set<number>();
      for (const sku of sessionItems(session)) distinct.add(this.intern(sku));
      if (distinct.size === 0) continue;
      this.sessions.push(Int32Array.from(distinct));
    }
    for (let item = 0; item < this.skus.length; item++) recent.push([]);
    for (let session = this.sessions.length - 1; session >= 0; session--) {
      for (const item of this.sessions[session] as Int32Array) {
        const list = recent[item] as number[];
        if (list.length < this.sampleSize) list.push(session);
      }
    }
    for (const list of recent) this.sessionsOfItem.push(Int32Array.from(list));
    this.popular = rankByCount(countItems(trainingSessions), 1000);
    this.candidateMark = new Int32Array(this.sessions.length);
    this.itemWeight = new Float64Array(this.skus.length);
    this.itemLastStep = new Int32Array(this.skus.length);
    this.itemMark = new Int32Array(this.skus.length);
    this.itemScore = new Float64Array(this.skus.length);
    this.scoreMark = new Int32Array(this.skus.length);
  }

  private intern(sku: string): number {
    let id = this.ids.get(sku);
    if (id === undefined) {
      id = this.skus.length;
      this.ids.set(sku, id);
      this.skus.push(sku);
    }
    return id;
  }

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    return sessions.map((session) => fillWithPopular(this.recommendOne(session, k), this.popular, k));
  }

  private recommendOne(session: readonly string[], k: number): Recommendation[] {
    const stamp = ++this.stamp;
    const length = session.length;
    // Position weights p / L; a repeated item keeps its latest (largest) weight, as in session-rec.
    const known: number[] = [];
    for (let position = 0; position < length; position++) {
      const id = this.ids.get(session[position] as string);
      if (id === undefined) continue;
      if (this.itemMark[id] !== stamp) {
        this.itemMark[id] = stamp;
        known.push(id);
      }
      this.itemWeight[id] = (position + 1) / length;
      this.itemLastStep[id] = length - position;
    }
    if (known.length === 0) return [];
    if (this.candidates.length < known.length * this.sampleSize) {
      this.candidates = new Int32Array(known.length * this.sampleSize);
    }
    const distinctItems = new Set(session).size;

    let found = 0;
    for (const item of known) {
      for (const candidate of this.sessionsOfItem[item] as Int32Array) {
        if (this.candidateMark[candidate] === stamp) continue;
        this.candidateMark[candidate] = stamp;
        this.candidates[found++] = candidate;
      }
    }
    // Typed-array sort is numeric and several times faster than Array#sort with a comparator.
    const sorted = this.candidates.subarray(0, found).sort();
    const candidates = sorted.subarray(Math.max(0, found - this.sampleSize));

    const similar: { session: number; similarity: number; step: number }[] = [];
    for (const candidate of candidates) {
      let dot = 0;
      let step = Number.POSITIVE_INFINITY;
      for (const item of this.sessions[candidate] as Int32Array) {
        if (this.itemMark[item] !== stamp) continue;
        dot += this.itemWeight[item] as number;
        step = Math.min(step, this.itemLastStep[item] as number);
      }
      if (dot > 0) similar.push({ session: candidate, similarity: dot / distinctItems, step });
    }
    // Ties go to the more recent session.
    similar.sort((a, b) => b.similarity - a.similarity || b.session - a.session);
    if (similar.length > this.neighbours) similar.length = this.neighbours;

    const scored: number[] = [];
    for (const { session: neighbour, similarity, step } of similar) {
      const vote = similarity / step;
      for (const item of this.sessions[neighbour] as Int32Array) {
        if (this.scoreMark[item] !== stamp) {
          this.scoreMark[item] = stamp;
          this.itemScore[item] = 0;
          scored.push(item);
        }
        this.itemScore[item] = (this.itemScore[item] as number) + vote;
      }
    }
    scored.sort((a, b) => (this.itemScore[b] as number) - (this.itemScore[a] as number) || a - b);
    return scored
      .slice(0, k)
      .map((item) => ({ sku: this.skus[item] as string, score: this.itemScore[item] as number }));
  }
}
