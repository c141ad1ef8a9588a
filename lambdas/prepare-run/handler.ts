import { parseExecutionInput } from "../../core/pipeline/execution-input.ts";
import { PrepareRunEventSchema } from "../../core/pipeline/prepare-run-event.ts";
import { resolveRunContext } from "../../core/pipeline/resolve-run-context.ts";
import type { RunContext, RunDefaults } from "../../core/pipeline/run-context.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

export interface PrepareRunDependencies {
  /** From the deploy configuration, validated once before the first event. */
  readonly defaults: RunDefaults;
}

/**
 * "Prepare the run": validates the execution input (InvalidExecutionInput lists every problem) and
 * resolves the run context every later stage reads from `$.run`.
 */
export function createPrepareRunHandler({ defaults }: PrepareRunDependencies) {
  return async (event: unknown): Promise<RunContext> => {
    const { input, execution } = parseTaskEvent(PrepareRunEventSchema, event, "Prepare the run");
    return resolveRunContext(parseExecutionInput(input), execution, defaults);
  };
}
