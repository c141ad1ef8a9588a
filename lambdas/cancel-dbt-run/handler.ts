import { z } from "zod";
import type { DbtRunState } from "../../core/pipeline/contracts.ts";
import type { Transformer } from "../../core/ports/transformer.ts";
import { DbtRunStateSchema, dbtRunState } from "../shared/dbt-run.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CancelDbtRunEventSchema = z.looseObject({ transform: DbtRunStateSchema });

export interface CancelDbtRunDependencies {
  readonly transformer: Transformer;
}

/**
 * "Cancel the dbt run": asks the transformer to stop a run that outlived its deadline and returns its
 * state, still marked `timedOut`, so the Fail state after it can say which run was stopped and why.
 */
export function createCancelDbtRunHandler({ transformer }: CancelDbtRunDependencies) {
  return async (event: unknown): Promise<DbtRunState> => {
    const { transform } = parseTaskEvent(CancelDbtRunEventSchema, event, "Cancel the dbt run");
    const run = await transformer.cancel(transform.runId);
    return dbtRunState(run, transform.deadline, transform.timedOut);
  };
}
