/**
 * The items a session has already shown at each scored position, and how recently: the input of
 * the model's repeat scores. A quarter of next clicks in click logs re-click an item of the session
 * (most of them the item just clicked); a GRU that must rediscover "the item I just read" through
 * its embedding ranks those far lower than a neighbourhood method does, so the model adds a learned
 * score per recency to the items it has read (see `SessionModel.repeatScores`).
 */
export interface SessionItemPairs {
  /** `[m × 2]` row-major: (scored row, score column) per pair. */
  readonly indices: Int32Array;
  /** `[m]`: steps back from the scored position to the item's most recent occurrence (0 = the current input). */
  readonly recency: Int32Array;
  readonly count: number;
}

/**
 * For each scored position of a padded `[rows × length]` batch of item indices (0 pads), the distinct
 * items read up to and including it, each with its most recent occurrence. `columnOf` maps an item
 * index to its score column (item − 1 for the whole catalogue; its candidate column when sampled);
 * items without a column are skipped.
 */
export function sessionItemPairs(
  inputs: Int32Array,
  length: number,
  positions: Int32Array,
  columnOf: (item: number) => number | undefined = (item) => item - 1,
): SessionItemPairs {
  const indices: number[] = [];
  const recency: number[] = [];
  const seen = new Set<number>();
  positions.forEach((position, scored) => {
    const rowStart = position - (position % length);
    seen.clear();
    for (let at = position; at >= rowStart; at--) {
      const item = inputs[at] as number;
      if (item === 0 || seen.has(item)) continue;
      seen.add(item);
      const column = columnOf(item);
      if (column === undefined) continue;
      indices.push(scored, column);
      recency.push(position - at);
    }
  });
  return { indices: Int32Array.from(indices), recency: Int32Array.from(recency), count: recency.length };
}
