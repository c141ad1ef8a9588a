/**
 * A small seeded generator (mulberry32) for everything training draws at random in JS: weight
 * initialisation, batch order, negative samples and dropout seeds. Same seed, same run.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** A seed for a TF.js random op, derived from this stream. */
  seed(): number {
    return this.int(2 ** 31);
  }

  shuffle<T>(values: T[]): T[] {
    for (let index = values.length - 1; index > 0; index--) {
      const other = this.int(index + 1);
      const value = values[index] as T;
      values[index] = values[other] as T;
      values[other] = value;
    }
    return values;
  }
}
