/**
 * The deadlines of the polling loops (dbt run, extract, endpoint update) in a form that survives a
 * redrive. A deadline is an absolute time set when the loop starts; redriving a failed execution
 * (Step Functions' RedriveExecution, up to 14 days later) resumes the loop with that old deadline in
 * its state, so every check would time out at once. Each deadline therefore records the execution's
 * redrive count it was set under (`$$.Execution.RedriveCount`: 0 until the first redrive, "Accessing
 * execution data from the Context object", docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html);
 * a check that sees a higher count gives the loop its whole budget again from the redrive.
 */

/** A loop's deadline (ISO time) and the redrive count it was set under. */
export interface PollDeadline {
  readonly deadline: string;
  /** @default 0 (a state written before redrives were counted) */
  readonly redriveCount?: number;
}

export class InvalidPollBudgetError extends Error {
  override readonly name = "InvalidPollBudget";
}

/** The deadline of a loop that starts now with `seconds` to run. */
export function startPollDeadline(seconds: number, now: Date, redriveCount = 0): Required<PollDeadline> {
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidPollBudgetError(`A polling loop needs a timeout above 0 seconds, got ${seconds}`);
  return { deadline: new Date(now.getTime() + seconds * 1000).toISOString(), redriveCount };
}

/**
 * The deadline in force for a check: the one in the state, or, when the execution has been redriven
 * since it was set, a fresh one from now (the first check after a redrive runs right after it).
 */
export function deadlineInForce(
  state: PollDeadline,
  executionRedriveCount: number,
  seconds: number,
  now: Date,
): Required<PollDeadline> {
  const setUnder = state.redriveCount ?? 0;
  if (executionRedriveCount > setUnder) return startPollDeadline(seconds, now, executionRedriveCount);
  return { deadline: state.deadline, redriveCount: setUnder };
}

export function isPastDeadline(deadline: string, now: Date): boolean {
  return now.getTime() >= Date.parse(deadline);
}
