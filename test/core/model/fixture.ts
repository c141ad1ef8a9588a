import { SeededRandom } from "../../../core/model/random.ts";

/**
 * A learnable session log: each session walks a fixed successor chain (item i is followed by item
 * succ(i) 90% of the time, a random item otherwise). A sequence model can learn the chain; the
 * popularity baseline cannot, since every item is about equally popular.
 */
export function chainSessions(count: number, items: number, seed: number): string[][] {
  const random = new SeededRandom(seed);
  const successor = (item: number) => (item * 7 + 3) % items;
  const sessions: string[][] = [];
  for (let index = 0; index < count; index++) {
    let item = random.int(items);
    const session = [`sku-${item}`];
    const length = 3 + random.int(5);
    while (session.length < length) {
      item = random.next() < 0.9 ? successor(item) : random.int(items);
      session.push(`sku-${item}`);
    }
    sessions.push(session);
  }
  return sessions;
}

export const SMALL_PARAMETERS = {
  epochs: 6,
  embeddingDim: 16,
  hiddenDim: 16,
  maxLength: 10,
  batchSize: 32,
  learningRate: 0.02,
  negativeSamples: 32,
  dropout: 0,
  minItemCount: 1,
  patience: 2,
  seed: 7,
} as const;
