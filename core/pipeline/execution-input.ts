import { z } from "zod";
import { parseGateCheck } from "../evaluation/gate-expression.ts";

/**
 * The one execution-input contract: what a console user, `pms start`, `pms run` and the nightly
 * schedule send to the state machine. Every field is optional; PrepareRun fills the gaps from the
 * deploy configuration's run defaults.
 */

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date written YYYY-MM-DD")
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), "is not a calendar date");

export const TimeWindowSchema = z
  .object({
    start: isoDate.describe("first day of events, inclusive (UTC)"),
    end: isoDate.describe("last day of events, inclusive (UTC)"),
  })
  .strict()
  .refine((window) => window.start <= window.end, {
    message: "window.start must be on or before window.end",
    path: ["end"],
  });
export type TimeWindow = z.infer<typeof TimeWindowSchema>;

export const TrainingParametersSchema = z
  .object({
    epochs: z.number().int().min(1).max(200),
    embeddingDim: z.number().int().min(4).max(1024),
    hiddenDim: z.number().int().min(4).max(2048),
    maxLength: z.number().int().min(2).max(200),
    batchSize: z.number().int().min(1).max(8192),
    learningRate: z.number().positive().max(1),
    negativeSamples: z.number().int().min(0).max(16384),
    dropout: z.number().min(0).max(0.9),
    minItemCount: z.number().int().min(1).max(1000),
    patience: z.number().int().min(0).max(50),
    seed: z.number().int().min(0),
  })
  .strict();
export type TrainingParameters = z.infer<typeof TrainingParametersSchema>;

export const GateSourceSchema = z.string().superRefine((source, context) => {
  try {
    parseGateCheck(source);
  } catch (error) {
    context.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
  }
});

export const DEPLOY_MODES = ["auto", "skip", "force"] as const;
export type DeployMode = (typeof DEPLOY_MODES)[number];

export const ExecutionInputSchema = z
  .object({
    trigger: z.enum(["schedule", "console", "cli", "local"]).optional(),
    window: TimeWindowSchema.optional(),
    tenant: z.string().min(1).max(256).optional(),
    holdoutDays: z.number().int().min(1).max(90).optional(),
    training: TrainingParametersSchema.partial().optional(),
    gate: z.array(GateSourceSchema).min(1).max(50).optional(),
    deploy: z.enum(DEPLOY_MODES).optional(),
    /** Why a `force` deploy overrides the gate; recorded on the model package. */
    reason: z.string().max(1024).optional(),
  })
  .strict();
export type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

/** Every problem with an input, one line each, with the field's path — the cause of a Fail state. */
export function describeInputProblems(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(input)"}: ${issue.message}`)
    .join("\n");
}

export class InvalidExecutionInputError extends Error {
  override readonly name = "InvalidExecutionInput";
  constructor(
    readonly problems: string,
    options?: ErrorOptions,
  ) {
    super(`The execution input is invalid:\n${problems}`, options);
  }
}

export function parseExecutionInput(raw: unknown): ExecutionInput {
  const result = ExecutionInputSchema.safeParse(raw ?? {});
  if (!result.success)
    throw new InvalidExecutionInputError(describeInputProblems(result.error), { cause: result.error });
  return result.data;
}
