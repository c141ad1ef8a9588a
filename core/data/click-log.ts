import { readFile } from "node:fs/promises";

/**
 * The RecSys 2015 click log (TSV with a header: SessionId, ItemId, Time in epoch seconds) as
 * time-ordered sessions, and the session-based protocol's splits by the day a session starts: the
 * benchmarks' shared data preparation.
 */
export interface ClickSession {
  readonly id: string;
  /** Time of the session's first click, epoch milliseconds. */
  readonly startMs: number;
  /** UTC date of the first click, `YYYY-MM-DD`. */
  readonly startDay: string;
  readonly items: string[];
}

export class ClickLogFormatError extends Error {
  override readonly name = "ClickLogFormatError";
}

/** Sessions ordered by start time, oldest first (ties: session id as read). */
export async function readClickLog(path: string): Promise<ClickSession[]> {
  return parseClickLog(await readFile(path, "utf8"), path);
}

/** `readClickLog` on the file's text; `source` names the file in errors. */
export function parseClickLog(text: string, source = "click log"): ClickSession[] {
  const events = new Map<string, { time: number; item: string }[]>();
  const lines = text.split("\n");
  for (let index = 1; index < lines.length; index++) {
    const line = (lines[index] as string).replace(/\r$/, "");
    if (line.length === 0) continue;
    const [session, item, timeText] = line.split("\t");
    const time = Number(timeText);
    if (!session || !item || !timeText || !Number.isFinite(time)) {
      throw new ClickLogFormatError(
        `${source}:${index + 1}: expected SessionId<TAB>ItemId<TAB>Time (epoch seconds), got "${line.slice(0, 80)}"`,
      );
    }
    const list = events.get(session) ?? [];
    if (list.length === 0) events.set(session, list);
    list.push({ time, item });
  }
  // Oldest session first, so "the most recent share" of a split is its tail.
  return [...events]
    .map(([id, list]) => {
      list.sort((a, b) => a.time - b.time);
      const startMs = Math.round((list[0]?.time ?? 0) * 1000);
      return { id, startMs, startDay: new Date(startMs).toISOString().slice(0, 10), items: list.map((e) => e.item) };
    })
    .sort((a, b) => a.startMs - b.startMs);
}

/** Test sessions as the protocol scores them: items unseen in training removed, then at least two clicks. */
function testSessions(sessions: readonly ClickSession[], known: ReadonlySet<string>): ClickSession[] {
  return sessions
    .map((session) => ({ ...session, items: session.items.filter((item) => known.has(item)) }))
    .filter((session) => session.items.length >= 2);
}

/**
 * The usual session-based protocol (GRU4Rec, session-rec): train on sessions that start before
 * `testDay`, test on those that start on it; test clicks on items absent from training are
 * removed, and test sessions left with fewer than two clicks are dropped.
 */
export function splitByDay(sessions: readonly ClickSession[], testDay: string) {
  const train = sessions.filter((session) => session.startDay < testDay).map((session) => session.items);
  const known = new Set(train.flat());
  const test = testSessions(
    sessions.filter((session) => session.startDay === testDay),
    known,
  ).map((session) => session.items);
  return { train, test };
}

/** A span of whole UTC days, both ends included (`YYYY-MM-DD`), as a pipeline run's window is. */
export interface DayWindow {
  readonly start: string;
  readonly end: string;
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** `2014-04-01..2014-04-04` → a window; the error names the expected form. */
export function parseDayWindow(text: string): DayWindow {
  const [start, end, extra] = text.split("..");
  const valid = (day: string | undefined) =>
    day !== undefined && DAY_PATTERN.test(day) && !Number.isNaN(Date.parse(day));
  if (extra !== undefined || !valid(start) || !valid(end) || (start as string) > (end as string)) {
    throw new RangeError(`window "${text}" must be <start>..<end>, two dates YYYY-MM-DD with start <= end`);
  }
  return { start: start as string, end: end as string };
}

/**
 * What a model trained on `window` is then asked about: train = every session that starts within
 * the window (the days the pipeline reads), test = the sessions that start on the day after it,
 * scored with the protocol of `splitByDay` against the window's items.
 */
export function splitByWindow(sessions: readonly ClickSession[], window: DayWindow) {
  const train = sessions.filter((session) => session.startDay >= window.start && session.startDay <= window.end);
  const known = new Set(train.flatMap((session) => session.items));
  const testDay = nextDay(window.end);
  const test = testSessions(
    sessions.filter((session) => session.startDay === testDay),
    known,
  );
  return { train, test, testDay };
}
