import { z } from "zod";
import type { ModelRegistry } from "../../core/deploy/registry.ts";
import { DeployRunSchema, EvaluationResultSchema } from "../../core/deploy/task-schemas.ts";
import type { EvaluationResult, RegistrationResult } from "../../core/pipeline/contracts.ts";
import type { RunContext } from "../../core/pipeline/run-context.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const RegisterModelEventSchema = z.looseObject({ run: DeployRunSchema, evaluation: EvaluationResultSchema });

export interface RegisterModelDependencies {
  readonly registry: ModelRegistry;
}

/**
 * "Register the model version": every evaluated model becomes a version in the registry —
 * Approved, Rejected or PendingManualApproval by the gate and the execution's deploy mode.
 */
export function createRegisterModelHandler({ registry }: RegisterModelDependencies) {
  return async (event: unknown): Promise<RegistrationResult> => {
    const { run, evaluation } = parseTaskEvent(RegisterModelEventSchema, event, "Register the model version");
    return registry.registerModelVersion({
      run: run as unknown as RunContext,
      evaluation: evaluation as unknown as EvaluationResult,
    });
  };
}
