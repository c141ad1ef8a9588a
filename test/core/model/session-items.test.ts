import { describe, expect, it } from "vitest";
import { sessionItemPairs } from "../../../core/model/session-items.ts";

describe("sessionItemPairs", () => {
  it("lists each scored position's distinct items with their most recent occurrence, skipping padding", () => {
    // Prepare: two rows of length 5; row 0 = [4, 7, 4, 9, 0], row 1 = [3, 3, 0, 0, 0].
    const inputs = Int32Array.from([4, 7, 4, 9, 0, 3, 3, 0, 0, 0]);
    const positions = Int32Array.from([2, 3, 6]);

    // Act
    const pairs = sessionItemPairs(inputs, 5, positions);

    // Assess: (scored row, column = item − 1, recency)
    const triples = Array.from(pairs.recency, (recency, at) => [
      pairs.indices[2 * at],
      pairs.indices[2 * at + 1],
      recency,
    ]);
    expect(triples).toEqual([
      [0, 3, 0], // position 2 reads item 4 now…
      [0, 6, 1], // …item 7 one step back (item 4's older occurrence is not repeated)
      [1, 8, 0], // position 3: item 9 now
      [1, 3, 1], // item 4 one step back
      [1, 6, 2],
      [2, 2, 0], // row 1, position 1: item 3 once, at its latest occurrence
    ]);
    expect(pairs.count).toBe(6);
  });

  it("maps items to candidate columns and skips items without one", () => {
    const pairs = sessionItemPairs(Int32Array.from([5, 6, 7]), 3, Int32Array.from([2]), (item) =>
      item === 6 ? undefined : item * 10,
    );
    expect(Array.from(pairs.indices)).toEqual([0, 70, 0, 50]);
    expect(Array.from(pairs.recency)).toEqual([0, 2]);
  });
});
