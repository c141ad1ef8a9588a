import * as tf from "@tensorflow/tfjs";
import type { Recommendation } from "../ports/model-host.ts";
import type { SessionModel } from "./gru4rec.ts";
import type { LoadedModel, ModelMetadata } from "./load.ts";
import type { ItemVocabulary } from "./vocabulary.ts";

/**
 * The trained model behind the `Recommender` interface: sessions of SKUs in, ranked SKUs with
 * softmax probabilities out. Items already in the session stay eligible (repeat clicks are a
 * large share of next clicks); unknown items are skipped; a session with no known item gets the
 * popularity fallback and is flagged.
 */
export class SessionRecommender implements LoadedModel {
  readonly name = "gru4rec";

  constructor(
    readonly model: SessionModel,
    readonly vocabulary: ItemVocabulary,
    private readonly popular: readonly Recommendation[],
    readonly metadata: ModelMetadata,
    readonly backend: string,
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
      const { values, indices } = tf.tidy(() => {
        const representation = this.model.encodeLast(knownRows.map((row) => encoded[row] as number[]));
        const probabilities = tf.softmax(this.model.scoreAll(representation));
        return tf.topk(probabilities, depth, true);
      });
      const [scores, columns] = await Promise.all([values.data(), indices.data()]);
      values.dispose();
      indices.dispose();
      knownRows.forEach((row, position) => {
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

  dispose(): void {
    this.model.dispose();
  }
}
