import type { Recommendation } from "../ports/model-host.ts";

/**
 * Anything that turns session prefixes into ranked items: the neural model, the baselines, a
 * champion loaded from its artifact. Evaluation and serving depend on this and nothing more.
 */
export interface Recommender {
  readonly name: string;
  /** One ranked list per session, best first, at most `k` long. Unknown items are ignored. */
  recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]>;
}
