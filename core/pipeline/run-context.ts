import { z } from "zod";
import { TENANT_PATTERN, TENANT_RULE } from "../data/tenant.ts";
import {
  DEPLOY_MODES,
  type DeployMode,
  GateSourceSchema,
  type TimeWindow,
  type TrainingParameters,
  TrainingParametersSchema,
} from "./execution-input.ts";

/**
 * Run defaults come from the deploy configuration (cdk.json context) and reach PrepareRun as one
 * JSON environment variable in the cloud, or straight from the config in the local twin.
 */
export const RunDefaultsSchema = z
  .object({
    /** `s3://bucket` in the cloud, an absolute directory locally. Runs live under `<root>/runs/<runId>/`. */
    artifactRoot: z.string().min(1),
    lookbackDays: z.number().int().min(1).max(3650),
    holdoutDays: z.number().int().min(1).max(90),
    tenant: z.string().regex(TENANT_PATTERN, `must be ${TENANT_RULE}`),
    training: TrainingParametersSchema,
    gate: z.array(GateSourceSchema).min(1),
    deploy: z.enum(DEPLOY_MODES),
    /** Fewer training sessions than this fails Extract with InsufficientData. */
    minSessions: z.number().int().min(1),
  })
  .strict();
export type RunDefaults = z.infer<typeof RunDefaultsSchema>;

/** Where a run's artifacts live. Data locations are prefixes ending in `/` (one or more Parquet parts). */
export interface RunArtifactUris {
  readonly run: string;
  readonly data: {
    readonly train: string;
    readonly validation: string;
    readonly test: string;
    readonly manifest: string;
  };
  /**
   * The served model's `model.tar.gz` (in the layout SageMaker expects): trained on the whole window,
   * test span included. It is the one registered, deployed and smoke-tested.
   */
  readonly model: string;
  readonly trainingMetrics: string;
  /**
   * The evaluated model's `model.tar.gz`: the same training without the test span, so the figures
   * measured on the test span are honest. It is evaluated and gated, never deployed.
   */
  readonly evaluatedModel: string;
  readonly evaluatedTrainingMetrics: string;
  readonly report: string;
  readonly metrics: string;
}

/** What PrepareRun resolves: the execution input with every default filled in, and where things go. */
export interface RunContext {
  readonly runId: string;
  /** Short enough for SageMaker resource names (≤ 24 characters, `[a-z0-9-]`). */
  readonly shortId: string;
  readonly executionName: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly window: TimeWindow;
  readonly tenant: string;
  readonly holdoutDays: number;
  readonly minSessions: number;
  readonly training: TrainingParameters;
  readonly gate: readonly string[];
  readonly deploy: DeployMode;
  readonly reason?: string;
  readonly uris: RunArtifactUris;
  /** The evaluated model's training command (Batch ContainerOverrides.Command), all strings. */
  readonly trainingCommand: readonly string[];
  /** The served model's training command: the same hyper-parameters, the test span added to the training data. */
  readonly servedTrainingCommand: readonly string[];
}

export function runArtifactUris(artifactRoot: string, runId: string): RunArtifactUris {
  const run = `${artifactRoot.replace(/\/+$/, "")}/runs/${runId}`;
  return {
    run,
    data: {
      train: `${run}/data/train/`,
      validation: `${run}/data/validation/`,
      test: `${run}/data/test/`,
      manifest: `${run}/data/manifest.json`,
    },
    model: `${run}/served-model/model.tar.gz`,
    trainingMetrics: `${run}/served-model/training-metrics.json`,
    evaluatedModel: `${run}/model/model.tar.gz`,
    evaluatedTrainingMetrics: `${run}/model/training-metrics.json`,
    report: `${run}/report/report.html`,
    metrics: `${run}/report/metrics.json`,
  };
}

/**
 * The training entry point's command line. `training-image` parses exactly these flags; keeping
 * both sides on this one function means the state machine and the container cannot drift apart.
 */
export const TRAINING_FLAGS = {
  trainData: "--train-data",
  validationData: "--validation-data",
  manifest: "--manifest",
  modelOutput: "--model-output",
  metricsOutput: "--metrics-output",
  hyperparameters: "--hyperparameters",
  runId: "--run-id",
  /** The served model's training: the test split joins the training data (`--test-data`). */
  refit: "--refit",
  testData: "--test-data",
} as const;

/** The evaluated model's training: train split in, validation for early stopping and the blend weight. */
export function trainingCommand(runId: string, uris: RunArtifactUris, training: TrainingParameters): string[] {
  return [
    "train",
    TRAINING_FLAGS.runId,
    runId,
    TRAINING_FLAGS.trainData,
    uris.data.train,
    TRAINING_FLAGS.validationData,
    uris.data.validation,
    TRAINING_FLAGS.manifest,
    uris.data.manifest,
    TRAINING_FLAGS.modelOutput,
    uris.evaluatedModel,
    TRAINING_FLAGS.metricsOutput,
    uris.evaluatedTrainingMetrics,
    TRAINING_FLAGS.hyperparameters,
    JSON.stringify(training),
  ];
}

/**
 * The served model's training: the evaluated model's command with the test span added to the
 * training data and its own outputs. The validation sample stays out of the GRU's training data in
 * both, so early stopping and the blend weight are chosen on sessions neither model learned from.
 */
export function servedTrainingCommand(runId: string, uris: RunArtifactUris, training: TrainingParameters): string[] {
  return [
    "train",
    TRAINING_FLAGS.refit,
    TRAINING_FLAGS.runId,
    runId,
    TRAINING_FLAGS.trainData,
    uris.data.train,
    TRAINING_FLAGS.testData,
    uris.data.test,
    TRAINING_FLAGS.validationData,
    uris.data.validation,
    TRAINING_FLAGS.manifest,
    uris.data.manifest,
    TRAINING_FLAGS.modelOutput,
    uris.model,
    TRAINING_FLAGS.metricsOutput,
    uris.trainingMetrics,
    TRAINING_FLAGS.hyperparameters,
    JSON.stringify(training),
  ];
}
