import {
  describeInputProblems,
  type TrainingParameters,
  TrainingParametersSchema,
} from "../pipeline/execution-input.ts";

/** Sensible settings for session logs of tens of thousands of sessions (measured: docs/model.md). */
export const DEFAULT_TRAINING_PARAMETERS: TrainingParameters = {
  epochs: 6,
  embeddingDim: 64,
  hiddenDim: 64,
  maxLength: 20,
  batchSize: 128,
  learningRate: 0.01,
  negativeSamples: 4096,
  dropout: 0.3,
  minItemCount: 1,
  patience: 2,
  seed: 42,
};

export class InvalidHyperparametersError extends Error {
  override readonly name = "InvalidHyperparameters";
}

/**
 * Hyper-parameters from the command line or environment (a JSON object, any subset of the fields;
 * the rest take the defaults). Problems name the field: `learningRate: Too big: expected number to be <=1`.
 */
export function parseTrainingParameters(source: string | undefined, origin = "--hyperparameters"): TrainingParameters {
  if (source === undefined || source.trim() === "") return { ...DEFAULT_TRAINING_PARAMETERS };
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (error) {
    throw new InvalidHyperparametersError(
      `${origin} is not valid JSON (${(error as Error).message}); give an object such as {"epochs": 10, "hiddenDim": 100}`,
      { cause: error },
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InvalidHyperparametersError(`${origin} must be a JSON object such as {"epochs": 10}`);
  }
  const partial = TrainingParametersSchema.partial().safeParse(raw);
  if (!partial.success) {
    throw new InvalidHyperparametersError(
      `${origin} has invalid hyper-parameters:\n${describeInputProblems(partial.error)}`,
      { cause: partial.error },
    );
  }
  return TrainingParametersSchema.parse({ ...DEFAULT_TRAINING_PARAMETERS, ...partial.data });
}
