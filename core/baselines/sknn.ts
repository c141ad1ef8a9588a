import { sessionItems } from "../evaluation/metrics.ts";
import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { countItems, fillWithPopular, rankByCount } from "./popularity.ts";

export interface SknnOptions {
  /** Nearest neighbour sessions whose items are scored. @default 100 */
  readonly neighbours?: number;
  /** Most recent candidate sessions that contain an item of the current session. @default 500 */
  readonly sampleSize?: number;
  /**
   * Items whose ids are fixed up front: item `catalogue[i]` gets id i (for `forEachScoreOfIds`).
   * @default none: ids in order of first appearance
   */
  readonly catalogue?: readonly string[];
  /**
   * τ: the current session's item at position p (1-based, of L) weighs exp((p − L) / τ) instead of
   * V-SkNN's p / L, so the last clicks decide the neighbours. @default none: p / L (plain V-SkNN)
   */
  readonly positionDecay?: number;
  /**
   * e: each item of the current session also weighs log(N / n)^e, N training sessions of which n
   * hold the item, so sharing a rare item counts more than sharing a best-seller.
   * @default none (plain V-SkNN)
   */
  readonly idfExponent?: number;
  /**
   * λ: a neighbour's item d places away from the item it shares with the session's most recent
   * shared click votes × exp(−d / λ) (STAN's λ3, Garg et al. 2019), so what came right after that
   * item in the neighbour counts most. @default none: every item of a neighbour votes alike (V-SkNN)
   */
  readonly neighbourItemDecay?: number;
}

/** The weightings `SknnOptions` adds to V-SkNN; without them it is plain V-SkNN. */
export const SKNN_WEIGHTINGS = ["positionDecay", "idfExponent", "neighbourItemDecay"] as const;

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
 * `positionDecay` and `idfExponent` change the current session's item weights (the hybrid model's
 * neighbours use them: docs/model.md measures what they add); without them this is plain V-SkNN,
 * the baseline the evaluation compares against.
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
  // Flat (CSR) layouts: one typed array per relation instead of one small array per session or
  // item, for memory and for cache locality in the inner loops.
  /** Distinct item ids of session s (oldest session first, so a larger id is more recent). */
  private readonly sessionItems: Int32Array;
  private readonly sessionStart: Int32Array;
  /** The ids of item i's most recent sessions, most recent first. */
  private readonly itemSessions: Int32Array;
  private readonly itemStart: Int32Array;
  private readonly popular: Recommendation[];
  private readonly positionDecay: number | undefined;
  private readonly neighbourItemDecay: number | undefined;
  /** Per item, log(N / n)^e; empty without `idfExponent`. */
  private readonly idf: Float64Array;
  // Scratch space reused by every query instead of allocating per session.
  private readonly candidateMark: Int32Array;
  private candidates = new Int32Array(0);
  /** Per known item of the query, the next position in its session list (the merge's cursors). */
  private heads = new Int32Array(0);
  private readonly similarity: Float64Array;
  private readonly lastSharedStep: Int32Array;
  /** Where in the candidate's item list the item of `lastSharedStep` sits. */
  private readonly lastSharedAt: Int32Array;
  private readonly itemWeight: Float64Array;
  private readonly itemLastStep: Int32Array;
  private readonly itemMark: Int32Array;
  private readonly itemScore: Float64Array;
  private readonly scoreMark: Int32Array;
  private stamp = 0;

  constructor(trainingSessions: readonly TimedSession[], options: SknnOptions = {}) {
    this.neighbours = options.neighbours ?? 100;
    this.sampleSize = options.sampleSize ?? 500;
    this.positionDecay = options.positionDecay;
    this.neighbourItemDecay = options.neighbourItemDecay;
    for (const field of SKNN_WEIGHTINGS) {
      const value = options[field];
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
        throw new RangeError(
          `SknnOptions.${field} must be a positive number (or left out for plain V-SkNN), got ${value}`,
        );
      }
    }
    for (const sku of options.catalogue ?? []) this.intern(sku);
    const ordered = trainingSessions
      .map((session, index) => ({ session, index }))
      .sort((a, b) => (a.session.session_start_ms ?? 0) - (b.session.session_start_ms ?? 0) || a.index - b.index);
    const flat: number[] = [];
    const starts: number[] = [0];
    for (const { session } of ordered) {
      const distinct = new Set<number>();
      for (const sku of sessionItems(session)) distinct.add(this.intern(sku));
      if (distinct.size === 0) continue;
      flat.push(...distinct);
      starts.push(flat.length);
    }
    this.sessionItems = Int32Array.from(flat);
    this.sessionStart = Int32Array.from(starts);
    const sessionCount = starts.length - 1;
    const itemCount = this.skus.length;

    // Walk sessions newest first and keep each item's first `sampleSize`: its most recent sessions.
    const kept = new Int32Array(itemCount);
    for (let session = sessionCount - 1; session >= 0; session--) {
      for (let at = this.sessionStart[session] as number; at < (this.sessionStart[session + 1] as number); at++) {
        const item = this.sessionItems[at] as number;
        if ((kept[item] as number) < this.sampleSize) kept[item] = (kept[item] as number) + 1;
      }
    }
    this.itemStart = new Int32Array(itemCount + 1);
    for (let item = 0; item < itemCount; item++) {
      this.itemStart[item + 1] = (this.itemStart[item] as number) + (kept[item] as number);
    }
    this.itemSessions = new Int32Array(this.itemStart[itemCount] as number);
    const filled = new Int32Array(itemCount);
    for (let session = sessionCount - 1; session >= 0; session--) {
      for (let at = this.sessionStart[session] as number; at < (this.sessionStart[session + 1] as number); at++) {
        const item = this.sessionItems[at] as number;
        if ((filled[item] as number) >= (kept[item] as number)) continue;
        this.itemSessions[(this.itemStart[item] as number) + (filled[item] as number)] = session;
        filled[item] = (filled[item] as number) + 1;
      }
    }

    this.idf = new Float64Array(options.idfExponent === undefined ? 0 : itemCount);
    if (options.idfExponent !== undefined) {
      const exponent = options.idfExponent;
      const holding = new Int32Array(itemCount);
      for (const item of this.sessionItems) holding[item] = (holding[item] as number) + 1;
      this.idf.forEach((_, item) => {
        const sessions = holding[item] as number;
        // An item no training session holds (catalogue only) never meets a candidate: its weight is moot.
        this.idf[item] = sessions === 0 ? 0 : Math.log(sessionCount / sessions) ** exponent;
      });
    }

    this.popular = rankByCount(countItems(trainingSessions), 1000);
    this.candidateMark = new Int32Array(sessionCount);
    this.similarity = new Float64Array(sessionCount);
    this.lastSharedStep = new Int32Array(sessionCount);
    this.lastSharedAt = new Int32Array(sessionCount);
    this.itemWeight = new Float64Array(itemCount);
    this.itemLastStep = new Int32Array(itemCount);
    this.itemMark = new Int32Array(itemCount);
    this.itemScore = new Float64Array(itemCount);
    this.scoreMark = new Int32Array(itemCount);
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
    return this.top(this.score(session), k).map((item) => ({
      sku: this.skus[item] as string,
      score: this.itemScore[item] as number,
    }));
  }

  /**
   * Every item the neighbours vote for, with its score (unordered): what a hybrid model blends with
   * its own scores. `visit` runs before the next call reuses the scratch space.
   */
  forEachScore(session: readonly string[], visit: (sku: string, score: number) => void): void {
    for (const item of this.score(session)) visit(this.skus[item] as string, this.itemScore[item] as number);
  }

  /**
   * `forEachScore` for a session already given as item ids (positions in `catalogue` when it was
   * passed to the constructor): no SKU lookups on the way in or out.
   */
  forEachScoreOfIds(session: readonly number[], visit: (id: number, score: number) => void): void {
    const stamp = ++this.stamp;
    const known: number[] = [];
    for (let position = 0; position < session.length; position++) {
      const id = session[position] as number;
      if (id < 0 || id >= this.skus.length) continue;
      if (this.itemMark[id] !== stamp) {
        this.itemMark[id] = stamp;
        known.push(id);
      }
      this.itemWeight[id] = this.weightOf(id, position, session.length);
      this.itemLastStep[id] = session.length - position;
    }
    for (const item of this.scoreKnown(stamp, known, session.length, known.length)) {
      visit(item, this.itemScore[item] as number);
    }
  }

  /** The weight of item `id` at 0-based `position` of a session of `length` clicks in the similarity. */
  private weightOf(id: number, position: number, length: number): number {
    const byPosition =
      this.positionDecay === undefined
        ? (position + 1) / length
        : Math.exp((position + 1 - length) / this.positionDecay);
    return this.idf.length === 0 ? byPosition : byPosition * (this.idf[id] as number);
  }

  /** Scores the session's neighbours' items into `itemScore`; returns the ids scored. */
  private score(session: readonly string[]): number[] {
    const stamp = ++this.stamp;
    const length = session.length;
    // A repeated item keeps its latest (largest) weight, as in session-rec.
    const known: number[] = [];
    for (let position = 0; position < length; position++) {
      const id = this.ids.get(session[position] as string);
      if (id === undefined) continue;
      if (this.itemMark[id] !== stamp) {
        this.itemMark[id] = stamp;
        known.push(id);
      }
      this.itemWeight[id] = this.weightOf(id, position, length);
      this.itemLastStep[id] = length - position;
    }
    return this.scoreKnown(stamp, known, length, new Set(session).size);
  }

  /**
   * The scoring proper, for the distinct known items of a session (marked with `stamp`, their
   * position weights and last steps set): `length` and `distinctItems` count every item of it.
   */
  private scoreKnown(stamp: number, known: readonly number[], length: number, distinctItems: number): number[] {
    if (known.length === 0) return [];
    if (this.candidates.length < this.sampleSize) this.candidates = new Int32Array(this.sampleSize);
    if (this.heads.length < known.length) this.heads = new Int32Array(known.length);

    // The `sampleSize` most recent sessions holding any known item: a merge of the items' session
    // lists (each most recent first) that stops once it has enough, instead of collecting and
    // sorting every list — long sessions of popular items hold thousands of candidates.
    known.forEach((item, list) => {
      this.heads[list] = this.itemStart[item] as number;
    });
    let found = 0;
    while (found < this.sampleSize) {
      let bestList = -1;
      let bestSession = -1;
      for (let list = 0; list < known.length; list++) {
        const head = this.heads[list] as number;
        if (head >= (this.itemStart[(known[list] as number) + 1] as number)) continue;
        const session = this.itemSessions[head] as number;
        if (session > bestSession) {
          bestSession = session;
          bestList = list;
        }
      }
      if (bestList < 0) break;
      this.heads[bestList] = (this.heads[bestList] as number) + 1;
      if (this.candidateMark[bestSession] === stamp) continue;
      this.candidateMark[bestSession] = stamp;
      this.candidates[found++] = bestSession;
    }
    // Oldest first, as the neighbour selection below expects.
    const candidates = this.candidates.subarray(0, found).reverse();

    // Every candidate shares an item with the session, so every similarity is positive (or zero
    // under `idfExponent` when the shared item is in every training session).
    for (const candidate of candidates) {
      let dot = 0;
      let step = length + 1;
      let stepAt = 0;
      const first = this.sessionStart[candidate] as number;
      for (let at = first; at < (this.sessionStart[candidate + 1] as number); at++) {
        const item = this.sessionItems[at] as number;
        if (this.itemMark[item] !== stamp) continue;
        dot += this.itemWeight[item] as number;
        if ((this.itemLastStep[item] as number) < step) {
          step = this.itemLastStep[item] as number;
          stepAt = at - first;
        }
      }
      this.similarity[candidate] = dot / distinctItems;
      this.lastSharedStep[candidate] = step;
      this.lastSharedAt[candidate] = stepAt;
    }

    // The neighbours: similarity above the n-th largest, then ties at it, most recent first. Their
    // order does not matter for the scores, so no full sort is needed.
    let threshold = Number.NEGATIVE_INFINITY;
    if (candidates.length > this.neighbours) {
      const similarities = Float64Array.from(candidates, (candidate) => this.similarity[candidate] as number).sort();
      threshold = similarities[similarities.length - this.neighbours] as number;
    }
    let aboveThreshold = 0;
    for (const candidate of candidates) if ((this.similarity[candidate] as number) > threshold) aboveThreshold++;
    let tiesAllowed = this.neighbours - aboveThreshold;

    const scored: number[] = [];
    for (let index = candidates.length - 1; index >= 0; index--) {
      const neighbour = candidates[index] as number;
      const similarity = this.similarity[neighbour] as number;
      if (similarity < threshold) continue;
      if (similarity === threshold) {
        if (tiesAllowed <= 0) continue;
        tiesAllowed--;
      }
      const vote = similarity / (this.lastSharedStep[neighbour] as number);
      const first = this.sessionStart[neighbour] as number;
      const sharedAt = this.lastSharedAt[neighbour] as number;
      for (let at = first; at < (this.sessionStart[neighbour + 1] as number); at++) {
        const item = this.sessionItems[at] as number;
        if (this.scoreMark[item] !== stamp) {
          this.scoreMark[item] = stamp;
          this.itemScore[item] = 0;
          scored.push(item);
        }
        const distance = Math.abs(at - first - sharedAt);
        this.itemScore[item] =
          (this.itemScore[item] as number) +
          (this.neighbourItemDecay === undefined ? vote : vote * Math.exp(-distance / this.neighbourItemDecay));
      }
    }
    return scored;
  }

  /** The k best items by score (ties: lower id), by insertion into a k-long list: k is small. */
  private top(items: readonly number[], k: number): number[] {
    const best: number[] = [];
    const better = (a: number, b: number) => {
      const difference = (this.itemScore[a] as number) - (this.itemScore[b] as number);
      return difference > 0 || (difference === 0 && a < b);
    };
    for (const item of items) {
      if (best.length === k && !better(item, best[k - 1] as number)) continue;
      let position = best.length === k ? k - 1 : best.length;
      while (position > 0 && better(item, best[position - 1] as number)) {
        best[position] = best[position - 1] as number;
        position--;
      }
      best[position] = item;
    }
    return best;
  }
}
