import { nightlyWindow } from "../core/pipeline/resolve-run-context.ts";
import { warehouseEventDays } from "./data-commands.ts";
import type { PmsHome } from "./home.ts";

const DAY_MS = 86_400_000;
/** Days a local run trains and tests on when the data is older than the nightly window (the last is the test day). */
export const LATEST_DATA_WINDOW_DAYS = 7;

export interface Window {
  readonly start: string;
  readonly end: string;
}

/** The last `days` days of the data (never before its first day). */
export function windowEndingAt(first: string, last: string, days: number): Window {
  const start = new Date(Date.parse(`${last}T00:00:00Z`) - (days - 1) * DAY_MS).toISOString().slice(0, 10);
  return { start: start < first ? first : start, end: last };
}

/** `--input` with `window` set, written the way a shell takes it. */
export function inputArgumentFor(window: Window, input: Readonly<Record<string, unknown>> = {}): string {
  return `--input '${JSON.stringify({ ...input, window: { start: window.start, end: window.end } })}'`;
}

export interface LocalWindowChoice {
  readonly window: Window;
  /** Why this window, for the run's output. */
  readonly note: string;
}

/**
 * The window of a local run whose input has none. The cloud's nightly window (the `lookbackDays`
 * days before today) is right for a warehouse fed every day; a laptop's warehouse usually holds a
 * sample or an old click log, where that window is empty and the run could only end in
 * InsufficientData. Then the run takes the data's latest full week instead, and says so. Returns
 * undefined when the nightly window has data, or when the warehouse holds nothing at all (the
 * run's InsufficientData then says to load some).
 */
export async function chooseLocalWindow(
  home: PmsHome,
  options: { readonly tenant: string; readonly lookbackDays: number; readonly now?: Date },
): Promise<LocalWindowChoice | undefined> {
  const days = await warehouseEventDays(home, options.tenant);
  if (!days) return undefined;
  const nightly = nightlyWindow(options.now ?? new Date(), options.lookbackDays);
  if (days.last >= nightly.start && days.first <= nightly.end) return undefined;
  const window = windowEndingAt(days.first, days.last, LATEST_DATA_WINDOW_DAYS);
  return {
    window,
    note:
      `No events for tenant ${options.tenant} in the nightly window ${nightly.start}..${nightly.end}; the warehouse holds ` +
      `${days.first}..${days.last}, so this run takes its latest ${LATEST_DATA_WINDOW_DAYS} full days, ${window.start}..${window.end} ` +
      `(choose another with ${inputArgumentFor(window)}).`,
  };
}

/**
 * What to do after a run ended in InsufficientData: the warehouse's range for the tenant and the
 * exact `--input` that runs on its latest week, or how to load data when it holds none.
 */
export async function insufficientDataHint(
  home: PmsHome,
  options: {
    readonly tenant: string;
    readonly input: Readonly<Record<string, unknown>>;
    /** The window the failed run used. */
    readonly window?: Window;
  },
): Promise<string> {
  const days = await warehouseEventDays(home, options.tenant);
  if (!days)
    return (
      `The warehouse ${home.warehouse} holds no events for tenant ${options.tenant}: ` +
      "load some with `pms data generate` or `pms data load <file> --format <format>`."
    );
  const window = windowEndingAt(days.first, days.last, LATEST_DATA_WINDOW_DAYS);
  const held = `The warehouse holds ${days.events.toLocaleString("en-US")} events for tenant ${options.tenant}, ${days.first}..${days.last}.`;
  if (options.window && options.window.start <= window.start && options.window.end >= window.end)
    return (
      `${held} The run's window already covers its latest ${LATEST_DATA_WINDOW_DAYS} days: the data is too small for ` +
      "minSessions; load more (e.g. `pms data generate --events 120000`) or widen the window with --input."
    );
  return (
    `The warehouse holds ${days.events.toLocaleString("en-US")} events for tenant ${options.tenant}, ${days.first}..${days.last}. ` +
    `Run on its latest ${LATEST_DATA_WINDOW_DAYS} days with:\n  pms run ${inputArgumentFor(window, options.input)}`
  );
}
