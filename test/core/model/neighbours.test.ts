import { describe, expect, it } from "vitest";
import { BlendTuner, SessionNeighbours } from "../../../core/model/neighbours.ts";
import { ItemVocabulary } from "../../../core/model/vocabulary.ts";

const ITEMS = 12;
const vocabulary = ItemVocabulary.build([Array.from({ length: ITEMS }, (_, item) => `sku-${item}`)]);
const index = (item: number) => vocabulary.indexOf(`sku-${item}`) as number;
const settings = { weight: 0.5, neighbours: 10, sampleSize: 50 };

/** Sessions in which item i is always followed by item i + 1: the neighbours learn the chain. */
function chainHistory(): number[][] {
  return Array.from({ length: 40 }, (_, start) => [0, 1, 2].map((step) => index((start + step) % ITEMS)));
}

describe("SessionNeighbours", () => {
  it("orders training sessions oldest first and drops unknown items and empty sessions", () => {
    const encoded = SessionNeighbours.encodeSessions(
      [
        { items: ["sku-3", "nope"], session_start_ms: 20 },
        { items: ["nope"], session_start_ms: 5 },
        { items: ["sku-1", "sku-2"], session_start_ms: 10 },
      ],
      vocabulary,
    );
    expect(encoded).toEqual([[index(1), index(2)], [index(3)]]);
    const recent = SessionNeighbours.encodeSessions(
      [
        { items: ["sku-3"], session_start_ms: 20 },
        { items: ["sku-1"], session_start_ms: 10 },
        { items: ["sku-2"], session_start_ms: 30 },
      ],
      vocabulary,
      2,
    );
    expect(recent).toEqual([[index(3)], [index(2)]]);
  });

  it("round-trips its sessions through the archive's binary layout and refuses a damaged one", () => {
    const neighbours = new SessionNeighbours(settings, chainHistory(), vocabulary);
    const bytes = neighbours.toBinary();
    expect(SessionNeighbours.fromBinary(bytes, settings, vocabulary).sessions).toEqual(chainHistory());
    expect(() => SessionNeighbours.fromBinary(bytes.subarray(0, bytes.length - 4), settings, vocabulary)).toThrow(
      /length does not match/,
    );
    // One session holding item ITEMS + 5: [count 1, offsets 0 1, item].
    const outside = new Uint8Array(Int32Array.from([1, 0, 1, ITEMS + 5]).buffer);
    expect(() => SessionNeighbours.fromBinary(outside, settings, vocabulary)).toThrow(/outside the vocabulary/);
  });

  it("scores each session's neighbours' items normalised by the session's best, the best at exactly 1", () => {
    const neighbours = new SessionNeighbours(settings, chainHistory(), vocabulary);
    const votes: [number, number, number][] = [];
    neighbours.normalisedScores([[index(4)], [], [index(7)]], (row, item, score) => votes.push([row, item, score]));
    expect(new Set(votes.map(([row]) => row))).toEqual(new Set([0, 2]));
    for (const row of [0, 2]) {
      const scores = votes.filter(([voteRow]) => voteRow === row).map(([, , score]) => score);
      expect(Math.max(...scores)).toBe(1);
      expect(Math.min(...scores)).toBeGreaterThan(0);
    }
    // The chain's successor of item 4 is among the voted items.
    expect(votes.filter(([row]) => row === 0).map(([, item]) => item)).toContain(index(5));
  });
});

describe("BlendTuner", () => {
  const even = Array.from({ length: ITEMS / 2 }, (_, half) => 2 * half);
  const prefixes = even.map((item) => [index(item)]);
  const successors = Int32Array.from(even, (item) => index(item + 1));
  /** Five sessions per even item: [item, partner(item)]. */
  const pairedHistory = (partner: (item: number) => number) =>
    even.flatMap((item) => Array.from({ length: 5 }, () => [index(item), index(partner(item) % ITEMS)]));

  /** Per row, 0.25 on each `favourites(item)` and the rest spread evenly. */
  function probabilities(favourites: (item: number) => number[]): Float32Array {
    const values = new Float32Array(even.length * ITEMS);
    even.forEach((item, row) => {
      const chosen = favourites(item).map((favourite) => index(favourite % ITEMS));
      const rest = (1 - 0.25 * chosen.length) / (ITEMS - chosen.length);
      for (let column = 0; column < ITEMS; column++) {
        values[row * ITEMS + column] = chosen.includes(column + 1) ? 0.25 : rest;
      }
    });
    return values;
  }

  it("leans on the neighbours when they know the next item and the model does not", () => {
    // Prepare: the neighbours saw every even item followed by its successor; the model prefers
    // three wrong items.
    const tuner = new BlendTuner(
      new SessionNeighbours(
        settings,
        pairedHistory((item) => item + 1),
        vocabulary,
      ),
    );

    // Act
    tuner.add(
      probabilities((item) => [item + 3, item + 5, item + 7]),
      ITEMS,
      prefixes,
      successors,
    );
    const chosen = tuner.best();

    // Assess
    expect(chosen.gru["mrr@20"]).toBeCloseTo(0.25, 6);
    expect(chosen.weight).toBeGreaterThan(0);
    expect(chosen.hybrid["mrr@20"]).toBe(1);
    expect(chosen.gru.testPoints).toBe(even.length);
  });

  it("keeps the model alone when the neighbours point the wrong way", () => {
    const tuner = new BlendTuner(
      new SessionNeighbours(
        settings,
        pairedHistory((item) => item + 5),
        vocabulary,
      ),
    );
    tuner.add(
      probabilities((item) => [item + 1]),
      ITEMS,
      prefixes,
      successors,
    );
    const chosen = tuner.best();
    expect(chosen.weight).toBe(0);
    expect(chosen.hybrid).toEqual(chosen.gru);
    expect(chosen.gru["mrr@20"]).toBe(1);
  });
});
