import { describe, expect, it } from "vitest";
import { countScored, lengthBucketedBatches, toBatch, toSequences } from "../../../core/model/examples.ts";
import { SeededRandom } from "../../../core/model/random.ts";

describe("toSequences", () => {
  it("turns every prefix of a session into one scored example", () => {
    const [sequence] = toSequences([[5, 6, 7, 8]], 10);
    expect(Array.from(sequence?.inputs ?? [])).toEqual([5, 6, 7]);
    expect(Array.from(sequence?.targets ?? [])).toEqual([6, 7, 8]);
    expect(sequence?.scoredFrom).toBe(0);
  });

  it("cuts long sessions into windows that score each target exactly once, with context carried over", () => {
    const session = Array.from({ length: 12 }, (_, index) => index + 1);
    const sequences = toSequences([session], 4);
    const scored = sequences.flatMap((sequence) => Array.from(sequence.targets).slice(sequence.scoredFrom));
    expect(scored).toEqual(session.slice(1));
    expect(countScored(sequences)).toBe(11);
    for (const sequence of sequences) expect(sequence.inputs.length).toBeLessThanOrEqual(4);
    expect(sequences[1]?.scoredFrom).toBe(2);
  });

  it("drops sessions with fewer than two items", () => {
    expect(toSequences([[1], []], 5)).toEqual([]);
  });
});

describe("batches", () => {
  it("pads to the longest sequence and lists only the scored positions", () => {
    const batch = toBatch(
      toSequences(
        [
          [1, 2, 3],
          [4, 5],
        ],
        5,
      ),
    );
    expect(batch.length).toBe(2);
    expect(Array.from(batch.inputs)).toEqual([1, 2, 4, 0]);
    expect(Array.from(batch.positions)).toEqual([0, 1, 2]);
    expect(Array.from(batch.targets)).toEqual([2, 3, 5]);
  });

  it("keeps every sequence exactly once and groups similar lengths", () => {
    const sessions = Array.from({ length: 40 }, (_, index) => Array.from({ length: 2 + (index % 7) }, (_, i) => i + 1));
    const sequences = toSequences(sessions, 20);
    const batches = lengthBucketedBatches(sequences, 8, new SeededRandom(3));
    expect(batches.reduce((sum, batch) => sum + batch.size, 0)).toBe(40);
    expect(batches.reduce((sum, batch) => sum + batch.positions.length, 0)).toBe(countScored(sequences));
    const padding = batches.reduce((sum, batch) => sum + batch.size * batch.length - batch.positions.length, 0);
    expect(padding).toBeLessThan(40);
  });
});
