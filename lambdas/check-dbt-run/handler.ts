import { z } from "zod";
import type { DbtRunState } from "../../core/pipeline/contracts.ts";
import { deadlineInForce, isPastDeadline } from "../../core/pipeline/poll-budget.ts";
import type { Transformer } from "../../core/ports/transformer.ts";
import { DbtRunStateSchema, dbtRunState } from "../shared/dbt-run.ts";
import { ExecutionRedriveSchema, redriveCountOf } from "../shared/redrive.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CheckDbtRunEventSchema = z.looseObject({ transform: DbtRunStateSchema, execution: ExecutionRedriveSchema });

export interface CheckDbtRunDependencies {
  readonly transformer: Transformer;
  /**
   * `DBT_RUN_TIMEOUT_SECONDS`: the budget a redriven execution gives the run again from the redrive.
   * @default the deadline in the state stands (the local twin, never redriven)
   */
  readonly timeoutSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Check the dbt run": refreshes `$.transform`. A run still going after its deadline is reported
 * `timedOut`, and the state machine cancels it; a finished run is never timed out, whatever the time.
 */
export function createCheckDbtRunHandler({
  transformer,
  timeoutSeconds,
  now = () => new Date(),
}: CheckDbtRunDependencies) {
  return async (event: unknown): Promise<DbtRunState> => {
    const parsed = parseTaskEvent(CheckDbtRunEventSchema, event, "Check the dbt run");
    const { transform } = parsed;
    const deadline =
      timeoutSeconds === undefined
        ? { deadline: transform.deadline, redriveCount: transform.redriveCount ?? 0 }
        : deadlineInForce(transform, redriveCountOf(parsed), timeoutSeconds, now());
    const run = await transformer.get(transform.runId);
    const timedOut = !run.finished && isPastDeadline(deadline.deadline, now());
    return dbtRunState(run, deadline, timedOut);
  };
}
