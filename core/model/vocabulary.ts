import { rankByCount } from "../baselines/popularity.ts";
import type { Recommendation } from "../ports/model-host.ts";

/** Index 0 is padding; items are 1..size. Items below the minimum count are out of vocabulary. */
export const PADDING_INDEX = 0;

export interface VocabularyJson {
  readonly items: readonly string[];
  readonly counts: readonly number[];
}

/**
 * The item vocabulary. Out-of-vocabulary items (rare in training, or never seen) are dropped from
 * a session before it reaches the model — the same rule in training, evaluation and serving, so
 * "unknown items are skipped" means one thing everywhere.
 */
export class ItemVocabulary {
  private readonly indexBySku: Map<string, number>;

  private constructor(
    /** SKUs by index - 1, most frequent first. */
    readonly items: readonly string[],
    /** Training counts, aligned with `items`. */
    readonly counts: readonly number[],
  ) {
    this.indexBySku = new Map(items.map((sku, position) => [sku, position + 1]));
  }

  static build(sessions: Iterable<readonly string[]>, minCount = 1): ItemVocabulary {
    const counts = new Map<string, number>();
    for (const session of sessions) for (const sku of session) counts.set(sku, (counts.get(sku) ?? 0) + 1);
    const kept = [...counts]
      .filter(([, count]) => count >= minCount)
      .sort(([skuA, a], [skuB, b]) => b - a || (skuA < skuB ? -1 : skuA > skuB ? 1 : 0));
    return new ItemVocabulary(
      kept.map(([sku]) => sku),
      kept.map(([, count]) => count),
    );
  }

  static fromJSON(json: VocabularyJson): ItemVocabulary {
    if (!Array.isArray(json.items) || !Array.isArray(json.counts) || json.items.length !== json.counts.length) {
      throw new Error("vocabulary.json: `items` and `counts` must be arrays of the same length");
    }
    return new ItemVocabulary(json.items.map(String), json.counts.map(Number));
  }

  toJSON(): VocabularyJson {
    return { items: this.items, counts: this.counts };
  }

  /** Number of items, padding excluded. */
  get size(): number {
    return this.items.length;
  }

  indexOf(sku: string): number | undefined {
    return this.indexBySku.get(sku);
  }

  skuAt(index: number): string {
    const sku = this.items[index - 1];
    if (sku === undefined) throw new RangeError(`item index ${index} is outside the vocabulary (1..${this.size})`);
    return sku;
  }

  /** The known items of a session as indices, in order; unknown items skipped. */
  encode(session: readonly string[]): number[] {
    const encoded: number[] = [];
    for (const sku of session) {
      const index = this.indexBySku.get(sku);
      if (index !== undefined) encoded.push(index);
    }
    return encoded;
  }

  /** The most frequent items with their share of training interactions: the serving fallback. */
  popular(limit: number): Recommendation[] {
    return rankByCount(new Map(this.items.map((sku, position) => [sku, this.counts[position] as number])), limit);
  }
}
