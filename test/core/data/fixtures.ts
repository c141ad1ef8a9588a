import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A few thousand lines of the RecSys 2015 click log (yoochoose), with its header. */
export const CLICK_SAMPLE = fileURLToPath(new URL("../../fixtures/yoochoose-clicks-sample.tsv", import.meta.url));
export const DBT_PROJECT_DIR = fileURLToPath(new URL("../../../dbt-project/", import.meta.url));

export interface ClickLogCounts {
  readonly events: number;
  /** Distinct (session, item, time in ms): what staging keeps after dropping exact duplicates. */
  readonly distinctEvents: number;
  readonly sessions: number;
  readonly items: number;
  readonly sessionsPerDay: ReadonlyMap<string, number>;
  readonly sessionLengths: ReadonlyMap<string, number>;
}

/** Counts the click log by parsing it here, independently of the loader and the dbt models. */
export function countClickLog(path: string): ClickLogCounts {
  const lines = readFileSync(path, "utf8").trim().split("\n").slice(1);
  const starts = new Map<string, number>();
  const keys = new Set<string>();
  const items = new Set<string>();
  const lengths = new Map<string, number>();
  for (const line of lines) {
    const [session, item, time] = line.split("\t") as [string, string, string];
    const ms = Math.round(Number(time) * 1000);
    const key = `${session}|${item}|${ms}`;
    if (!keys.has(key)) lengths.set(session, (lengths.get(session) ?? 0) + 1);
    keys.add(key);
    items.add(item);
    starts.set(session, Math.min(starts.get(session) ?? Number.POSITIVE_INFINITY, ms));
  }
  const sessionsPerDay = new Map<string, number>();
  for (const start of starts.values()) {
    const day = new Date(start).toISOString().slice(0, 10);
    sessionsPerDay.set(day, (sessionsPerDay.get(day) ?? 0) + 1);
  }
  return {
    events: lines.length,
    distinctEvents: keys.size,
    sessions: starts.size,
    items: items.size,
    sessionsPerDay,
    sessionLengths: lengths,
  };
}
