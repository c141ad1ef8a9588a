import { z } from "zod";
import type { DbtRunState } from "../../core/pipeline/contracts.ts";
import type { Transformer } from "../../core/ports/transformer.ts";
import { DbtRunStateSchema, dbtRunState } from "../shared/dbt-run.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CheckDbtRunEventSchema = z.looseObject({ transform: DbtRunStateSchema });

export interface CheckDbtRunDependencies {
  readonly transformer: Transformer;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Check the dbt run": refreshes `$.transform`. A run still going after its deadline is reported
 * `timedOut`, and the state machine cancels it; a finished run is never timed out, whatever the time.
 */
export function createCheckDbtRunHandler({ transformer, now = () => new Date() }: CheckDbtRunDependencies) {
  return async (event: unknown): Promise<DbtRunState> => {
    const { transform } = parseTaskEvent(CheckDbtRunEventSchema, event, "Check the dbt run");
    const run = await transformer.get(transform.runId);
    const timedOut = !run.finished && now().getTime() >= Date.parse(transform.deadline);
    return dbtRunState(run, transform.deadline, timedOut);
  };
}
