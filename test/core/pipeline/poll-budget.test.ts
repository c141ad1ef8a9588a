import { describe, expect, it } from "vitest";
import {
  deadlineInForce,
  InvalidPollBudgetError,
  isPastDeadline,
  startPollDeadline,
} from "../../../core/pipeline/poll-budget.ts";

const START = new Date("2026-11-26T02:00:00.000Z");

describe("poll deadlines across redrives", () => {
  it("sets the deadline from the timeout and records the redrive count it was set under", () => {
    expect(startPollDeadline(3600, START)).toEqual({ deadline: "2026-11-26T03:00:00.000Z", redriveCount: 0 });
    expect(startPollDeadline(60, START, 2)).toEqual({ deadline: "2026-11-26T02:01:00.000Z", redriveCount: 2 });
    expect(() => startPollDeadline(0, START)).toThrow(InvalidPollBudgetError);
  });

  it("keeps the deadline within one attempt and restarts it once per redrive", () => {
    // Prepare
    const set = startPollDeadline(3600, START);
    const redriveDay = new Date("2026-11-28T09:30:00.000Z");

    // Act
    const sameAttempt = deadlineInForce(set, 0, 3600, redriveDay);
    const redriven = deadlineInForce(set, 1, 3600, redriveDay);
    const laterInRedrive = deadlineInForce(redriven, 1, 3600, new Date("2026-11-28T10:15:00.000Z"));

    // Assess
    expect(sameAttempt).toEqual(set);
    expect(isPastDeadline(sameAttempt.deadline, redriveDay)).toBe(true);
    expect(redriven).toEqual({ deadline: "2026-11-28T10:30:00.000Z", redriveCount: 1 });
    expect(laterInRedrive).toEqual(redriven);
    // A state written without a count counts as set before any redrive.
    expect(deadlineInForce({ deadline: set.deadline }, 1, 60, redriveDay).redriveCount).toBe(1);
  });
});
