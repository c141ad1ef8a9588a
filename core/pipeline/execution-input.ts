import { z } from "zod";
import { TENANT_PATTERN, TENANT_RULE } from "../data/tenant.ts";
import { dateProblem } from "../data/time-policy.ts";
import { parseGateCheck } from "../evaluation/gate-expression.ts";

/**
 * The one execution-input contract: what a console user, `pms start`, `pms run` and the nightly
 * schedule send to the state machine. Every field is optional; PrepareRun fills the gaps from the
 * deploy configuration's run defaults.
 */

/** A calendar day in the plausible range of core/data/time-policy.ts, the loaders' policy too. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date written YYYY-MM-DD")
  .superRefine((value, context) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return;
    const problem = dateProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

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
    tenant: z.string().regex(TENANT_PATTERN, `must be ${TENANT_RULE}`).optional(),
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

/**
 * The cloud refuses an execution input over 256 KiB of UTF-8 JSON (StartExecution's `input`, see
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionStartedEventDetails.html);
 * the twin applies the same limit so a run that works locally also starts in the cloud.
 */
export const MAX_EXECUTION_INPUT_BYTES = 262_144;
/** The schema's deepest path is 3 levels; anything nested deeper than this is not an input but an attack on the parser. */
export const MAX_EXECUTION_INPUT_DEPTH = 32;

/** How deep a JSON value nests, counted without recursion (so a hostile input cannot overflow the stack here). */
export function jsonDepth(value: unknown, stopAt = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== "object") continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(current)) pending.push([child, level]);
  }
  return deepest;
}

/** UTF-8 bytes of the input as JSON, or undefined when it is not JSON-serialisable. */
export function executionInputBytes(raw: unknown): number | undefined {
  try {
    const text = JSON.stringify(raw ?? {});
    return text === undefined ? undefined : Buffer.byteLength(text, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The checks that must come before anything walks the input: its size and its nesting. Step
 * Functions applies the first at StartExecution; the local engine would recurse into the second.
 */
export function checkExecutionInputEnvelope(raw: unknown): void {
  const depth = jsonDepth(raw, MAX_EXECUTION_INPUT_DEPTH);
  if (depth > MAX_EXECUTION_INPUT_DEPTH)
    throw new InvalidExecutionInputError(
      `(input): nested more than ${MAX_EXECUTION_INPUT_DEPTH} levels deep; the input is an object of a few fields (see docs/local-twin.md)`,
    );
  const bytes = executionInputBytes(raw);
  if (bytes === undefined) throw new InvalidExecutionInputError("(input): is not JSON");
  if (bytes > MAX_EXECUTION_INPUT_BYTES)
    throw new InvalidExecutionInputError(
      `(input): ${bytes.toLocaleString("en-US")} bytes of JSON, over the ${MAX_EXECUTION_INPUT_BYTES.toLocaleString("en-US")}-byte (256 KiB) execution input limit Step Functions applies`,
    );
}

export function parseExecutionInput(raw: unknown): ExecutionInput {
  checkExecutionInputEnvelope(raw);
  const result = ExecutionInputSchema.safeParse(raw ?? {});
  if (!result.success)
    throw new InvalidExecutionInputError(describeInputProblems(result.error), { cause: result.error });
  return result.data;
}
