import { describe, expect, it } from "vitest";
import {
  DEFAULT_PLAUSIBLE_DATES,
  dateProblem,
  epochMsProblem,
  InvalidDatePolicyError,
  isCalendarDate,
  parsePlausibleDates,
} from "../../../core/data/time-policy.ts";

describe("the date policy", () => {
  it("accepts only days the calendar has", () => {
    expect(["2024-02-29", "2000-02-29", "2099-12-31", "2014-04-01"].filter(isCalendarDate)).toHaveLength(4);
    expect(
      ["2024-02-30", "2023-02-29", "1900-02-29", "0000-01-01", "2024-13-01", "2024-04-31", "2024-1-01"].filter(
        isCalendarDate,
      ),
    ).toEqual([]);
  });

  it("refuses plausible-looking days outside 2000-01-01..2099-12-31 by default, naming the variable that changes it", () => {
    expect(dateProblem("2024-01-08")).toBeUndefined();
    expect(dateProblem("1999-12-31")).toMatch(
      /outside the plausible dates 2000-01-01\.\.2099-12-31 \(PMS_PLAUSIBLE_DATES/,
    );
    expect(dateProblem("2100-01-01")).toMatch(/outside/);
    expect(epochMsProblem(Date.parse("2000-01-01T00:00:00Z"))).toBeUndefined();
    expect(epochMsProblem(Date.parse("2099-12-31T23:59:59.999Z"))).toBeUndefined();
    expect(epochMsProblem(Date.parse("2100-01-01T00:00:00Z"))).toMatch(/2100-01-01\) is outside/);
    expect(epochMsProblem(9e15)).toMatch(/beyond any calendar date/);
  });

  it("takes another range from PMS_PLAUSIBLE_DATES and refuses a malformed one", () => {
    const range = parsePlausibleDates("1990-01-01..2030-12-31");
    expect(range).toEqual({ first: "1990-01-01", last: "2030-12-31" });
    expect(dateProblem("1995-06-01", range)).toBeUndefined();
    expect(epochMsProblem(Date.parse("2031-01-01T00:00:00Z"), range)).toMatch(/1990-01-01\.\.2030-12-31/);
    expect(parsePlausibleDates(undefined)).toBe(DEFAULT_PLAUSIBLE_DATES);
    for (const bad of ["2000-01-01", "2000-01-01..2024-02-30", "2030-01-01..2020-01-01", "a..b..c"])
      expect(() => parsePlausibleDates(bad), bad).toThrow(InvalidDatePolicyError);
  });
});
