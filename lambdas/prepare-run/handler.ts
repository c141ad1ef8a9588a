import { z } from "zod";
import { parseExecutionInput } from "../../core/pipeline/execution-input.ts";
import { PrepareRunEventSchema } from "../../core/pipeline/prepare-run-event.ts";
import { resolveRunContext } from "../../core/pipeline/resolve-run-context.ts";
import { type RunContext, type RunDefaults, RunDefaultsSchema } from "../../core/pipeline/run-context.ts";
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

/** `PMS_RUN_DEFAULTS` is unusable: the stack wrote it from a configuration this code does not accept. */
export class InvalidRunDefaultsError extends Error {
  override readonly name = "InvalidRunDefaults";
}

/** Parses `PMS_RUN_DEFAULTS` (JSON `RunDefaults`), naming every wrong field. */
export function parseRunDefaults(json: string): RunDefaults {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new InvalidRunDefaultsError(
      "PMS_RUN_DEFAULTS is not JSON: the stack writes it from the deploy configuration; redeploy",
      { cause: error },
    );
  }
  const parsed = RunDefaultsSchema.safeParse(value);
  if (!parsed.success)
    throw new InvalidRunDefaultsError(
      `PMS_RUN_DEFAULTS is not a valid RunDefaults (fix the deploy configuration and redeploy):\n${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  return parsed.data;
}
