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
  /** `model.tar.gz` in the layout SageMaker expects. */
  readonly model: string;
  readonly trainingMetrics: string;
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
  /** The training container's command (Batch ContainerOverrides.Command), all strings. */
  readonly trainingCommand: readonly string[];
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
    model: `${run}/model/model.tar.gz`,
    trainingMetrics: `${run}/model/training-metrics.json`,
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
} as const;

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
    uris.model,
    TRAINING_FLAGS.metricsOutput,
    uris.trainingMetrics,
    TRAINING_FLAGS.hyperparameters,
    JSON.stringify(training),
  ];
}
