import { z } from "zod";
import type { ModelRegistry } from "../../core/deploy/registry.ts";
import { DeployRunSchema, EvaluationResultSchema } from "../../core/deploy/task-schemas.ts";
import type { EvaluationResult, RegistrationResult, ServedModelCheckResult } from "../../core/pipeline/contracts.ts";
import type { RunContext } from "../../core/pipeline/run-context.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const TrainedOnSchema = z.looseObject({
  splits: z.array(z.enum(["train", "validation", "test"])),
  firstDay: z.string().nullable(),
  lastDay: z.string().nullable(),
  sessions: z.number(),
});
const ScoredModelSchema = z.looseObject({
  modelUri: z.string().min(1),
  "hr@20": z.number(),
  "mrr@20": z.number(),
  trainedOn: TrainedOnSchema,
});
const RegisterModelEventSchema = z.looseObject({
  run: DeployRunSchema,
  evaluation: EvaluationResultSchema,
  servedModelCheck: z.looseObject({
    passed: z.literal(true),
    points: z.number(),
    maxHitRateDrop: z.number(),
    evaluated: ScoredModelSchema,
    served: ScoredModelSchema,
  }),
});

export interface RegisterModelDependencies {
  readonly registry: ModelRegistry;
}

/**
 * "Register the model version": every run becomes a version in the registry — its artifact the
 * served model, its figures the evaluated model's, both models and what each learned from in its
 * metadata — Approved, Rejected or PendingManualApproval by the gate and the execution's deploy mode.
 */
export function createRegisterModelHandler({ registry }: RegisterModelDependencies) {
  return async (event: unknown): Promise<RegistrationResult> => {
    const { run, evaluation, servedModelCheck } = parseTaskEvent(
      RegisterModelEventSchema,
      event,
      "Register the model version",
    );
    return registry.registerModelVersion({
      run: run as unknown as RunContext,
      evaluation: evaluation as unknown as EvaluationResult,
      servedModelCheck: servedModelCheck as unknown as ServedModelCheckResult,
    });
  };
}
