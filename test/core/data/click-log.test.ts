import { describe, expect, it } from "vitest";
import {
  ClickLogFormatError,
  nextDay,
  parseClickLog,
  parseDayWindow,
  splitByDay,
  splitByWindow,
} from "../../../core/data/click-log.ts";

/** Epoch seconds of `day` at `hour` UTC. */
const at = (day: string, hour: number) => Date.parse(`${day}T00:00:00Z`) / 1000 + hour * 3600;

const LOG = [
  "SessionId\tItemId\tTime",
  // Session 2 starts first although listed later; its clicks are out of order in the file.
  `1\ta\t${at("2014-04-02", 23.5)}`,
  `1\tb\t${at("2014-04-03", 0.2)}`,
  `2\tb\t${at("2014-04-01", 9)}`,
  `2\ta\t${at("2014-04-01", 8)}`,
  `3\tc\t${at("2014-04-03", 10)}`,
  `3\td\t${at("2014-04-03", 11)}`,
  // Next day (04-04): x was never seen in the window, so session 4 keeps [a, b] and session 5 only [c].
  `4\ta\t${at("2014-04-04", 1)}`,
  `4\tx\t${at("2014-04-04", 2)}`,
  `4\tb\t${at("2014-04-04", 3)}`,
  `5\tc\t${at("2014-04-04", 5)}`,
  `5\tx\t${at("2014-04-04", 6)}`,
  // Two days after: in no split of the window 04-02..04-03.
  `6\ta\t${at("2014-04-05", 1)}`,
  `6\tb\t${at("2014-04-05", 2)}`,
  "",
].join("\n");

describe("parseClickLog", () => {
  it("groups clicks into sessions in time order, oldest session first, dated by their first click", () => {
    const sessions = parseClickLog(LOG);
    expect(sessions.map((session) => session.id)).toEqual(["2", "1", "3", "4", "5", "6"]);
    expect(sessions[0]).toEqual({
      id: "2",
      startMs: at("2014-04-01", 8) * 1000,
      startDay: "2014-04-01",
      items: ["a", "b"],
    });
    // Session 1 starts late on 04-02 and ends on 04-03: it belongs to 04-02.
    expect(sessions[1]?.startDay).toBe("2014-04-02");
  });

  it("names the file and line of a malformed row", () => {
    expect(() => parseClickLog("SessionId\tItemId\tTime\n1\ta\t5\n2\tb\n", "clicks.tsv")).toThrow(ClickLogFormatError);
    expect(() => parseClickLog("SessionId\tItemId\tTime\n1\ta\tnoon\n", "clicks.tsv")).toThrow(/clicks\.tsv:2:/);
  });
});

describe("splitByWindow", () => {
  it("trains on the sessions that start within the window and tests on the day after, with the protocol's filtering", () => {
    // Act
    const { train, test, testDay } = splitByWindow(parseClickLog(LOG), parseDayWindow("2014-04-02..2014-04-03"));

    // Assess: session 2 (04-01) is before the window, session 6 (04-05) two days after it.
    expect(testDay).toBe("2014-04-04");
    expect(train.map((session) => session.id)).toEqual(["1", "3"]);
    // x is unknown to training (dropped); session 5 is left with one click (dropped).
    expect(test.map((session) => [session.id, session.items])).toEqual([["4", ["a", "b"]]]);
  });

  it("agrees with splitByDay on what is tested when the window starts at the log's first day", () => {
    const sessions = parseClickLog(LOG);
    const byWindow = splitByWindow(sessions, { start: "2014-04-01", end: "2014-04-03" });
    const byDay = splitByDay(sessions, "2014-04-04");
    expect(byWindow.train.map((session) => session.items)).toEqual(byDay.train);
    expect(byWindow.test.map((session) => session.items)).toEqual(byDay.test);
  });
});

describe("parseDayWindow and nextDay", () => {
  it("reads start..end and crosses month ends", () => {
    expect(parseDayWindow("2014-04-01..2014-04-30")).toEqual({ start: "2014-04-01", end: "2014-04-30" });
    expect(nextDay("2014-04-30")).toBe("2014-05-01");
  });

  it("refuses a window it cannot read, saying what it expects", () => {
    for (const text of ["2014-04-01", "2014-04-05..2014-04-01", "2014-4-1..2014-04-05", "a..b..c"]) {
      expect(() => parseDayWindow(text)).toThrow(/<start>\.\.<end>, two dates YYYY-MM-DD/);
    }
  });
});
