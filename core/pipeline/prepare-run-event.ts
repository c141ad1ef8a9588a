import { z } from "zod";

/**
 * What "Prepare the run" receives: the raw execution input (validated by the handler, so a bad
 * input becomes an InvalidExecutionInput cause listing every problem) and the execution's identity
 * from the Step Functions context object (`$$.Execution.Name/Id/StartTime`).
 */
export const PrepareRunEventSchema = z.object({
  input: z.unknown(),
  execution: z
    .object({
      name: z.string().min(1),
      id: z.string().min(1),
      startTime: z.string().min(1),
    })
    .strict(),
});

export interface PrepareRunEvent {
  /** The execution input exactly as started; validate it with `parseExecutionInput`. */
  readonly input: unknown;
  readonly execution: {
    readonly name: string;
    /** The execution ARN. */
    readonly id: string;
    /** ISO 8601 time the execution started. */
    readonly startTime: string;
  };
}
