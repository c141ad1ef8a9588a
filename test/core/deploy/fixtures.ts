import type { DeploymentState, EvaluationResult } from "../../../core/pipeline/contracts.ts";
import { type RunContext, runArtifactUris } from "../../../core/pipeline/run-context.ts";

export const ENDPOINT = "pms-recommender";
export const IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pms-training:abc123";
export const ROLE = "arn:aws:iam::123456789012:role/pms-sagemaker";
export const ALARMS = ["pms-recommender-invocation-5xx", "pms-recommender-model-latency"];

export function runContext(overrides: Partial<RunContext> = {}): RunContext {
  const runId = overrides.runId ?? "20261126T020000Z-nightly-7f3a";
  return {
    runId,
    shortId: "261126-020000-7f3a9c",
    executionName: "nightly-2026-11-26",
    trigger: "schedule",
    startedAt: "2026-11-26T02:00:00.000Z",
    window: { start: "2014-04-01", end: "2014-04-07" },
    tenant: "shop-1",
    holdoutDays: 1,
    minSessions: 100,
    training: {
      epochs: 3,
      embeddingDim: 32,
      hiddenDim: 32,
      maxLength: 20,
      batchSize: 256,
      learningRate: 0.01,
      negativeSamples: 0,
      dropout: 0.1,
      minItemCount: 1,
      patience: 2,
      seed: 7,
    },
    gate: ["hr@20 >= 0.1"],
    deploy: "auto",
    uris: runArtifactUris("s3://pms-artifacts", runId),
    trainingCommand: ["train"],
    servedTrainingCommand: ["train", "--refit"],
    ...overrides,
  };
}

export function evaluation(passed: boolean, run: RunContext = runContext()): EvaluationResult {
  return {
    passed,
    checks: [{ name: "hr@20 >= 0.1", value: passed ? 0.31 : 0.05, threshold: 0.1, passed }],
    reasons: passed ? [] : ["hr@20 0.05 < 0.1"],
    reportUri: run.uris.report,
    metricsUri: run.uris.metrics,
  };
}

export function deploymentState(overrides: Partial<DeploymentState> = {}): DeploymentState {
  return {
    endpointName: ENDPOINT,
    endpointConfigName: `${ENDPOINT}-261126-020000-7f3a9c`,
    modelName: `${ENDPOINT}-261126-020000-7f3a9c`,
    previousEndpointConfigName: `${ENDPOINT}-261125-020000-1b2c3d`,
    status: "Updating",
    finished: false,
    succeeded: false,
    deadline: "2026-11-26T03:00:00.000Z",
    timedOut: false,
    ...overrides,
  };
}
