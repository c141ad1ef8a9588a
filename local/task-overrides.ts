import type { PipelineFunctions } from "../lib/pipeline/pipeline-functions.ts";
import {
  batchJobLocalFailure,
  batchJobLocalResult,
  LAMBDA_TASKS,
  TRAIN_STATES,
  type TrainedModel,
} from "../lib/pipeline/tasks.ts";
import type { TaskOverride } from "./execution.ts";

/** A Lambda handler as its factory returns it: the Task's payload in, the contract type out. */
export type LocalHandler = (event: unknown) => Promise<unknown>;
/** Missing entries stay un-overridden, and `executeLocally` refuses to start, naming them. */
export type LocalHandlers = Readonly<Partial<Record<keyof PipelineFunctions, LocalHandler>>>;

/** Runs the training container's command for one job; rejects when the job failed. */
export type LocalTrainingJob = (job: {
  readonly jobName: string;
  /** Which of the run's two models the job trains. */
  readonly model: TrainedModel;
  readonly command: readonly string[];
}) => Promise<void>;

interface SubmitJobParameters {
  readonly JobName?: string;
  readonly ContainerOverrides?: { readonly Command?: readonly string[] };
}

/**
 * Every Task state of the synthesized definition, overridden with the real handler it calls in the
 * cloud, driven through the state machine room's table so the result has exactly the shape the
 * cloud integration returns. Each training Task (the evaluated and the served model, the branches
 * of one Parallel state) runs the container's command locally and answers like `submitJob.sync`
 * (a failed job is `States.TaskFailed` with the job description as cause).
 */
export function taskOverrides(handlers: LocalHandlers, train: LocalTrainingJob): Record<string, TaskOverride> {
  const overrides: Record<string, TaskOverride> = {};
  for (const [key, spec] of Object.entries(LAMBDA_TASKS) as [
    keyof PipelineFunctions,
    (typeof LAMBDA_TASKS)[keyof PipelineFunctions],
  ][]) {
    const handler = handlers[key];
    if (!handler) continue;
    overrides[spec.stateName] = async (input) => spec.wrapLocalResult(await handler(input)) as never;
  }
  for (const [model, stateName] of Object.entries(TRAIN_STATES) as [TrainedModel, string][]) {
    overrides[stateName] = async (input) => {
      const parameters = input as SubmitJobParameters;
      const command = parameters.ContainerOverrides?.Command;
      if (!Array.isArray(command) || command.length === 0)
        throw new Error(
          `"${stateName}" received no ContainerOverrides.Command: the state machine must pass the run's training command`,
        );
      const jobName = parameters.JobName ?? `local-${model}-training`;
      const jobId = `local-${jobName}`;
      try {
        await train({ jobName, model, command });
      } catch (error) {
        throw batchJobLocalFailure({
          jobId,
          jobName,
          statusReason: error instanceof Error ? error.message : String(error),
        });
      }
      return batchJobLocalResult({ jobId, jobName }) as never;
    };
  }
  return overrides;
}
