/**
 * The one date policy for everything that carries a date or a time: execution input windows and
 * every loader format. A date must be a real calendar date (no 2024-02-30, no year 0000) and fall in
 * the plausible range, 2000-01-01..2099-12-31 unless `PMS_PLAUSIBLE_DATES=<first>..<last>` says
 * otherwise. A click log from 1970 or the year 287396 is a unit mix-up (seconds for milliseconds,
 * microseconds for milliseconds), not data: it is refused with the row's line, not loaded.
 */

export interface PlausibleDates {
  /** First plausible day, `YYYY-MM-DD`, inclusive (UTC). */
  readonly first: string;
  /** Last plausible day, `YYYY-MM-DD`, inclusive (UTC). */
  readonly last: string;
}

export const DEFAULT_PLAUSIBLE_DATES: PlausibleDates = { first: "2000-01-01", last: "2099-12-31" };
export const PLAUSIBLE_DATES_VARIABLE = "PMS_PLAUSIBLE_DATES";

const DAY_MS = 86_400_000;

/** `PMS_PLAUSIBLE_DATES` is not `<YYYY-MM-DD>..<YYYY-MM-DD>` with first <= last. */
export class InvalidDatePolicyError extends Error {
  override readonly name = "InvalidDatePolicy";
}

/** Only `YYYY-MM-DD` naming a day the calendar has, years 0001..9999 (Date.parse would roll 02-30 over to 03-01). */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function parsePlausibleDates(value: string | undefined): PlausibleDates {
  if (value === undefined || value.trim() === "") return DEFAULT_PLAUSIBLE_DATES;
  const [first, last, ...rest] = value.trim().split("..");
  if (first === undefined || last === undefined || rest.length > 0 || !isCalendarDate(first) || !isCalendarDate(last))
    throw new InvalidDatePolicyError(
      `${PLAUSIBLE_DATES_VARIABLE}="${value}" must be two calendar dates, <first>..<last>, e.g. ${DEFAULT_PLAUSIBLE_DATES.first}..${DEFAULT_PLAUSIBLE_DATES.last}`,
    );
  if (first > last)
    throw new InvalidDatePolicyError(`${PLAUSIBLE_DATES_VARIABLE}="${value}": ${first} is after ${last}`);
  return { first, last };
}

// Read once, when the policy is first needed: a malformed value fails the command at once, naming the variable.
let configured: PlausibleDates | undefined;

/** The policy in force: `PMS_PLAUSIBLE_DATES`, else 2000-01-01..2099-12-31. */
export function plausibleDates(): PlausibleDates {
  configured ??= parsePlausibleDates(process.env[PLAUSIBLE_DATES_VARIABLE]);
  return configured;
}

export function describePlausibleDates(range: PlausibleDates = plausibleDates()): string {
  return `${range.first}..${range.last} (${PLAUSIBLE_DATES_VARIABLE} changes the range)`;
}

/** Why a calendar day is refused, or undefined when the policy accepts it. */
export function dateProblem(text: string, range: PlausibleDates = plausibleDates()): string | undefined {
  if (!isCalendarDate(text)) return `"${text}" is not a calendar date written YYYY-MM-DD`;
  if (text < range.first || text > range.last)
    return `${text} is outside the plausible dates ${describePlausibleDates(range)}`;
  return undefined;
}

/** Why an epoch time in milliseconds is refused, or undefined when its UTC day is plausible. */
export function epochMsProblem(ms: number, range: PlausibleDates = plausibleDates()): string | undefined {
  if (!Number.isFinite(ms)) return `${ms} is not a time`;
  const first = Date.parse(`${range.first}T00:00:00Z`);
  const end = Date.parse(`${range.last}T00:00:00Z`) + DAY_MS;
  if (ms >= first && ms < end) return undefined;
  // Years beyond 275760 are not representable as dates at all.
  const day = Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().slice(0, 10) : "beyond any calendar date";
  return `${ms} (${day}) is outside the plausible dates ${describePlausibleDates(range)}`;
}
