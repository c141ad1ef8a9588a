import type { SeededRandom } from "./random.ts";

/**
 * Sessions → training sequences. Every prefix of a session predicts its next item; the model reads
 * a whole sequence at once and is scored at every position, so one pass over a session of length L
 * yields its L − 1 examples.
 *
 * A session longer than `maxLength` + 1 is cut into overlapping windows of `maxLength` inputs: each
 * window after the first re-reads half a window as context (burn-in) and is scored only on targets
 * the previous window did not score. So every target is predicted exactly once, from at least
 * `maxLength / 2` items of context — close to what serving sees (the last `maxLength` items).
 */
export interface Sequence {
  /** Item indices (1..V) fed to the model. */
  readonly inputs: Int32Array;
  /** The next item at each input position (1..V). */
  readonly targets: Int32Array;
  /** Positions before this are context only (not scored). */
  readonly scoredFrom: number;
}

export function toSequences(encodedSessions: readonly (readonly number[])[], maxLength: number): Sequence[] {
  if (maxLength < 2) throw new RangeError(`maxLength must be at least 2 (got ${maxLength})`);
  const burnIn = Math.floor(maxLength / 2);
  const sequences: Sequence[] = [];
  for (const session of encodedSessions) {
    const targetsCount = session.length - 1;
    if (targetsCount < 1) continue;
    // Targets are positions 1..L-1; a window of inputs [start, start + width) predicts [start + 1, start + width].
    let scoredUpTo = 0; // exclusive, in target positions (1-based item positions)
    let start = 0;
    while (scoredUpTo < targetsCount) {
      const width = Math.min(maxLength, targetsCount - start);
      const inputs = Int32Array.from(session.slice(start, start + width));
      const targets = Int32Array.from(session.slice(start + 1, start + width + 1));
      sequences.push({ inputs, targets, scoredFrom: Math.max(0, scoredUpTo - start) });
      scoredUpTo = start + width;
      start = scoredUpTo - burnIn;
    }
  }
  return sequences;
}

export function countScored(sequences: readonly Sequence[]): number {
  let count = 0;
  for (const sequence of sequences) count += sequence.inputs.length - sequence.scoredFrom;
  return count;
}

/** One mini-batch, padded to its longest sequence (index 0 pads). */
export interface Batch {
  readonly size: number;
  readonly length: number;
  /** `[size × length]`, row-major. */
  readonly inputs: Int32Array;
  /** Flat positions (row × length + column) that are scored, and their targets. */
  readonly positions: Int32Array;
  readonly targets: Int32Array;
}

export function toBatch(sequences: readonly Sequence[]): Batch {
  const length = Math.max(1, ...sequences.map((sequence) => sequence.inputs.length));
  const inputs = new Int32Array(sequences.length * length);
  const positions: number[] = [];
  const targets: number[] = [];
  sequences.forEach((sequence, row) => {
    inputs.set(sequence.inputs, row * length);
    for (let column = sequence.scoredFrom; column < sequence.inputs.length; column++) {
      positions.push(row * length + column);
      targets.push(sequence.targets[column] as number);
    }
  });
  return {
    size: sequences.length,
    length,
    inputs,
    positions: Int32Array.from(positions),
    targets: Int32Array.from(targets),
  };
}

/**
 * Mini-batches of sequences of similar length (sorted, then cut), so padding stays small; the
 * order of the batches is shuffled each epoch, and so is the order within equal lengths.
 */
export function lengthBucketedBatches(
  sequences: readonly Sequence[],
  batchSize: number,
  random: SeededRandom,
): Batch[] {
  const order = random.shuffle(sequences.map((_, index) => index));
  order.sort((a, b) => (sequences[a] as Sequence).inputs.length - (sequences[b] as Sequence).inputs.length);
  const batches: Batch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    batches.push(toBatch(order.slice(start, start + batchSize).map((index) => sequences[index] as Sequence)));
  }
  return random.shuffle(batches);
}
