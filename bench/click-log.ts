import { readFile } from "node:fs/promises";

/**
 * The RecSys 2015 click log (TSV: SessionId, ItemId, Time in epoch seconds) as time-ordered
 * sessions, split by the day each session starts — the benchmarks' shared data preparation.
 */
export interface ClickSession {
  readonly id: string;
  readonly startDay: string;
  readonly items: string[];
}

/** Sessions ordered by start time. */
export async function readClickLog(path: string): Promise<ClickSession[]> {
  const text = await readFile(path, "utf8");
  const events = new Map<string, { time: number; item: string }[]>();
  const lines = text.split("\n");
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] as string;
    if (line.length === 0) continue;
    const [session, item, time] = line.split("\t");
    if (!session || !item || !time) throw new Error(`${path}:${index + 1}: expected SessionId<TAB>ItemId<TAB>Time`);
    const list = events.get(session) ?? [];
    if (list.length === 0) events.set(session, list);
    list.push({ time: Number(time), item });
  }
  // Oldest session first, so "the most recent share" of a split is its tail.
  return [...events]
    .map(([id, list]) => {
      list.sort((a, b) => a.time - b.time);
      const start = list[0]?.time ?? 0;
      return { id, start, startDay: new Date(start * 1000).toISOString().slice(0, 10), items: list.map((e) => e.item) };
    })
    .sort((a, b) => a.start - b.start)
    .map(({ id, startDay, items }) => ({ id, startDay, items }));
}

/**
 * The usual session-based protocol (GRU4Rec, session-rec): train on sessions that start before
 * `testDay`, test on those that start on it; test clicks on items absent from training are
 * removed, and test sessions left with fewer than two clicks are dropped.
 */
export function splitByDay(sessions: readonly ClickSession[], testDay: string) {
  const train = sessions.filter((session) => session.startDay < testDay).map((session) => session.items);
  const known = new Set(train.flat());
  const test = sessions
    .filter((session) => session.startDay === testDay)
    .map((session) => session.items.filter((item) => known.has(item)))
    .filter((items) => items.length >= 2);
  return { train, test };
}
