import { type SessionLike, sessionItems } from "../evaluation/metrics.ts";
import type { Recommender } from "../model/recommender.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { countItems, fillWithPopular, rankByCount } from "./popularity.ts";

export interface CooccurrenceOptions {
  /** Successors kept per item (the longest list ever asked for). @default 200 */
  readonly maxSuccessors?: number;
}

/**
 * Session co-occurrence: the items that followed the session's last item in training sessions
 * (a first-order Markov chain, scored by P(next | last)). When the last item was never followed by
 * anything, the most recent earlier item that was is used; lists are topped up with popular items.
 */
export class CooccurrenceRecommender implements Recommender {
  readonly name = "cooccurrence";

  constructor(
    private readonly successors: ReadonlyMap<string, readonly Recommendation[]>,
    private readonly popular: readonly Recommendation[],
  ) {}

  static fromSessions(sessions: readonly SessionLike[], options: CooccurrenceOptions = {}): CooccurrenceRecommender {
    const maxSuccessors = options.maxSuccessors ?? 200;
    const transitions = new Map<string, Map<string, number>>();
    for (const session of sessions) {
      const items = sessionItems(session);
      for (let index = 1; index < items.length; index++) {
        const from = items[index - 1] as string;
        let next = transitions.get(from);
        if (!next) {
          next = new Map();
          transitions.set(from, next);
        }
        const to = items[index] as string;
        next.set(to, (next.get(to) ?? 0) + 1);
      }
    }
    const successors = new Map<string, Recommendation[]>();
    for (const [item, next] of transitions) successors.set(item, rankByCount(next, maxSuccessors));
    return new CooccurrenceRecommender(successors, rankByCount(countItems(sessions), 1000));
  }

  /** The item most often seen right after `item` in training, if any (the perturbation test's "similar item"). */
  nearestNeighbour(item: string): string | undefined {
    return this.successors.get(item)?.find((recommendation) => recommendation.sku !== item)?.sku;
  }

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    return sessions.map((session) => {
      for (let index = session.length - 1; index >= 0; index--) {
        const next = this.successors.get(session[index] as string);
        if (next) return fillWithPopular(next.slice(0, k), this.popular, k);
      }
      return fillWithPopular([], this.popular, k);
    });
  }
}
