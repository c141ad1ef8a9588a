import { describe, expect, it } from "vitest";
import { fullDays } from "../../local/data-commands.ts";
import { windowEndingAt } from "../../local/default-window.ts";

describe("the quick start's window", () => {
  it("leaves out a trailing partial day, so the test day has sessions", () => {
    // The RecSys 2015 sample: 22 events on its last day.
    const days = [
      { day: "2014-04-01", events: 11_624 },
      { day: "2014-04-06", events: 17_025 },
      { day: "2014-04-07", events: 22 },
    ];
    expect(fullDays(days)).toEqual({ first: "2014-04-01", last: "2014-04-06", events: 28_671 });
    expect(fullDays([])).toBeUndefined();
  });

  it("takes the last N days of the data, never before its first day", () => {
    expect(windowEndingAt("2024-01-01", "2024-01-14", 7)).toEqual({ start: "2024-01-08", end: "2024-01-14" });
    expect(windowEndingAt("2024-01-10", "2024-01-14", 7)).toEqual({ start: "2024-01-10", end: "2024-01-14" });
    expect(windowEndingAt("2023-12-01", "2024-01-03", 7)).toEqual({ start: "2023-12-28", end: "2024-01-03" });
  });
});
