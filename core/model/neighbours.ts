import { SknnRecommender, type TimedSession } from "../baselines/sknn.ts";
import { hitRate, meanReciprocalRank } from "../evaluation/metrics.ts";
import type { BlendValidation } from "./training-metrics.ts";
import type { ItemVocabulary } from "./vocabulary.ts";

/**
 * The session-kNN half of the hybrid model: V-SkNN over the training sessions, its scores blended
 * into the GRU's probabilities as `(1 − w)·p + w·s / max(s)`.
 *
 * Why a hybrid: on the RSC15 sample the GRU alone reaches HR@20 0.61 where V-SkNN reaches 0.64;
 * the two err differently (the GRU generalises across items, the neighbours memorise co-visits and
 * recent trends), and the blend beats both (docs/model.md, "The model and why").
 */
export interface NeighbourSettings {
  /** w: the kNN share of the blended score (0 = the GRU alone). */
  readonly weight: number;
  /** Nearest sessions that vote. */
  readonly neighbours: number;
  /** Most recent candidate sessions considered per query. */
  readonly sampleSize: number;
  /** τ of the session's position weights exp((p − L) / τ) (`SknnOptions`); absent: V-SkNN's p / L. */
  readonly positionDecay?: number;
  /** e of the session's IDF weights log(N / n)^e (`SknnOptions`); absent: none. */
  readonly idfExponent?: number;
  /** λ of the neighbour's item weights exp(−d / λ) (`SknnOptions`); absent: every item votes alike. */
  readonly neighbourItemDecay?: number;
}

/**
 * V-SkNN's neighbour and sample counts for RSC15 in session-rec, with three weightings measured on
 * the next day (docs/model.md): the last clicks and rare items weigh more in the similarity, and a
 * neighbour's items near the item it shares with the latest click vote more. The weight is tuned per
 * training run. Archives written before the weightings existed have none in neighbours.json and keep
 * scoring as plain V-SkNN.
 */
export const NEIGHBOUR_DEFAULTS = {
  neighbours: 100,
  sampleSize: 500,
  positionDecay: 1.5,
  idfExponent: 0.5,
  neighbourItemDecay: 4,
} as const;

/**
 * The most recent training sessions the neighbours keep. V-SkNN only ever reads each item's 500 most
 * recent sessions, so old sessions matter little; the cap bounds `neighbours.bin` (4 bytes a click:
 * about 10 MB here) and the serving memory at "millions of events a day".
 */
export const MAX_NEIGHBOUR_SESSIONS = 500_000;

/** Candidate blend weights tried on the validation split. */
export const BLEND_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

const BLEND_K = 20;

export class SessionNeighbours {
  private readonly knn: SknnRecommender;

  /** `sessions`: item indices of the vocabulary, oldest session first (recency decides the sample). */
  constructor(
    readonly settings: NeighbourSettings,
    readonly sessions: readonly (readonly number[])[],
    vocabulary: ItemVocabulary,
  ) {
    // Item id i of the kNN is vocabulary index i + 1: queries and votes need no SKU lookups.
    this.knn = new SknnRecommender(
      sessions.map((items, index) => ({ items: items.map((item) => vocabulary.skuAt(item)), session_start_ms: index })),
      {
        neighbours: settings.neighbours,
        sampleSize: settings.sampleSize,
        positionDecay: settings.positionDecay,
        idfExponent: settings.idfExponent,
        neighbourItemDecay: settings.neighbourItemDecay,
        catalogue: vocabulary.items,
      },
    );
  }

  /**
   * Training sessions as vocabulary indices, oldest first (unknown items dropped, empty sessions
   * skipped), the most recent `limit` of them.
   */
  static encodeSessions(
    sessions: readonly TimedSession[],
    vocabulary: ItemVocabulary,
    limit = MAX_NEIGHBOUR_SESSIONS,
  ): number[][] {
    return sessions
      .map((session, index) => ({ session, index }))
      .sort((a, b) => (a.session.session_start_ms ?? 0) - (b.session.session_start_ms ?? 0) || a.index - b.index)
      .map(({ session }) => vocabulary.encode(session.items))
      .filter((items) => items.length > 0)
      .slice(-limit);
  }

  /** Each session's kNN scores over item indices, normalised by the session's best (so in [0, 1]). */
  normalisedScores(
    sessions: readonly (readonly number[])[],
    visit: (row: number, item: number, score: number) => void,
  ): void {
    const items: number[] = [];
    const scores: number[] = [];
    sessions.forEach((session, row) => {
      items.length = 0;
      scores.length = 0;
      let best = 0;
      this.knn.forEachScoreOfIds(
        session.map((item) => item - 1),
        (id, score) => {
          items.push(id + 1);
          scores.push(score);
          if (score > best) best = score;
        },
      );
      if (best <= 0) return;
      for (let at = 0; at < items.length; at++) visit(row, items[at] as number, (scores[at] as number) / best);
    });
  }

  /** CSR layout for the archive: `[sessionCount, offsets (sessionCount + 1)…, items…]` as int32. */
  toBinary(): Uint8Array {
    const total = this.sessions.reduce((sum, session) => sum + session.length, 0);
    const data = new Int32Array(1 + this.sessions.length + 1 + total);
    data[0] = this.sessions.length;
    let offset = 0;
    let at = 2 + this.sessions.length;
    this.sessions.forEach((session, index) => {
      data[1 + index] = offset;
      data.set(session, at);
      at += session.length;
      offset += session.length;
    });
    data[1 + this.sessions.length] = offset;
    return new Uint8Array(data.buffer);
  }

  static fromBinary(bytes: Uint8Array, settings: NeighbourSettings, vocabulary: ItemVocabulary): SessionNeighbours {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const data = new Int32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
    const count = data[0] ?? -1;
    const itemsStart = 2 + count;
    if (count < 0 || data.length < itemsStart || data.length !== itemsStart + (data[1 + count] ?? -1)) {
      throw new RangeError("neighbours.bin is not a session index (its length does not match its header)");
    }
    const sessions: number[][] = [];
    for (let index = 0; index < count; index++) {
      const from = itemsStart + (data[1 + index] as number);
      const to = itemsStart + (data[2 + index] as number);
      const session = Array.from(data.subarray(from, to));
      if (session.some((item) => item < 1 || item > vocabulary.size)) {
        throw new RangeError(
          `neighbours.bin session ${index} names an item outside the vocabulary (1..${vocabulary.size})`,
        );
      }
      sessions.push(session);
    }
    return new SessionNeighbours(settings, sessions, vocabulary);
  }
}

/**
 * Picks the blend weight on validation points: for each candidate w, the rank of each target under
 * `(1 − w)·p + w·s/max(s)`; the weight with the best HR@20 + MRR@20 wins (ties: the smaller w).
 * Fed batch by batch so memory stays at one batch of probabilities.
 */
export class BlendTuner {
  private readonly ranks: number[][] = BLEND_WEIGHTS.map(() => []);

  constructor(private readonly neighbours: SessionNeighbours) {}

  /** `probabilities`: `[rows × items]` (column j is item j + 1); prefixes and targets: item indices. */
  add(probabilities: Float32Array, items: number, prefixes: readonly (readonly number[])[], targets: Int32Array): void {
    const knn = prefixes.map(() => new Map<number, number>());
    this.neighbours.normalisedScores(prefixes, (row, item, score) => {
      knn[row]?.set(item, score);
    });
    targets.forEach((target, row) => {
      const p = probabilities.subarray(row * items, (row + 1) * items);
      const scores = knn[row] as Map<number, number>;
      BLEND_WEIGHTS.forEach((weight, index) => {
        const blended = (item: number) => (1 - weight) * (p[item - 1] as number) + weight * (scores.get(item) ?? 0);
        const targetScore = blended(target);
        let rank = 0;
        // Only items that can outrank the target are counted; the loop stops once past the cut-off.
        for (let item = 1; item <= items && rank < BLEND_K; item++) if (blended(item) > targetScore) rank++;
        (this.ranks[index] as number[]).push(rank);
      });
    });
  }

  /** The chosen weight and the validation metrics of the GRU alone and of the blend. */
  best(): BlendValidation {
    const metrics = this.ranks.map((ranks) => {
      const array = Int32Array.from(ranks);
      return {
        "hr@20": hitRate(array, BLEND_K),
        "mrr@20": meanReciprocalRank(array, BLEND_K),
        testPoints: ranks.length,
      };
    });
    let chosen = 0;
    metrics.forEach((candidate, index) => {
      const best = metrics[chosen] as (typeof metrics)[number];
      if (candidate["hr@20"] + candidate["mrr@20"] > best["hr@20"] + best["mrr@20"]) chosen = index;
    });
    return {
      weight: BLEND_WEIGHTS[chosen] as number,
      gru: metrics[0] as (typeof metrics)[number],
      hybrid: metrics[chosen] as (typeof metrics)[number],
    };
  }
}
