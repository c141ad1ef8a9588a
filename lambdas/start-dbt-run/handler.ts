import { z } from "zod";
import type { DbtRunState } from "../../core/pipeline/contracts.ts";
import type { Transformer } from "../../core/ports/transformer.ts";
import { dbtRunVars } from "../../core/transform/run-vars.ts";
import { dbtRunState } from "../shared/dbt-run.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const StartDbtRunEventSchema = z.looseObject({
  run: z.looseObject({
    runId: z.string().min(1),
    executionName: z.string().min(1),
    window: z.object({ start: z.string(), end: z.string() }),
    tenant: z.string().min(1),
  }),
});

export interface StartDbtRunDependencies {
  readonly transformer: Transformer;
  /** How long "Check the dbt run" waits before the run counts as timed out. */
  readonly timeoutSeconds: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** "Start the dbt run": triggers the dbt project with the run's window and tenant as vars. */
export function createStartDbtRunHandler({
  transformer,
  timeoutSeconds,
  now = () => new Date(),
}: StartDbtRunDependencies) {
  return async (event: unknown): Promise<DbtRunState> => {
    const { run } = parseTaskEvent(StartDbtRunEventSchema, event, "Start the dbt run");
    const started = await transformer.start({
      cause: `post-modern-stack execution ${run.executionName} (run ${run.runId})`,
      vars: dbtRunVars(run),
    });
    const deadline = new Date(now().getTime() + timeoutSeconds * 1000).toISOString();
    return dbtRunState(started, deadline, false);
  };
}
