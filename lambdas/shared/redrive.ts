import { z } from "zod";

/**
 * `execution.redriveCount` in a polling check's payload: `$$.Execution.RedriveCount`, 0 until the
 * execution is first redriven (core/pipeline/poll-budget.ts explains what it is for). Optional so a
 * payload from before it was passed still parses, as never redriven.
 */
export const ExecutionRedriveSchema = z.object({ redriveCount: z.number().int().min(0) }).optional();

export function redriveCountOf(event: { execution?: { redriveCount: number } | undefined }): number {
  return event.execution?.redriveCount ?? 0;
}
