import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { S3ArtifactStore } from "../../core/artifacts/s3.ts";
import { SageMakerChampionSource } from "../../core/evaluation/sagemaker-champion.ts";
import { loadModelForScoring } from "../../core/model/parallel-model.ts";
import { requireEnv } from "../shared/env.ts";
import { recordEvaluation } from "../shared/pipeline-metrics.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createEvaluateHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("evaluate");
const { logger, tracer, metrics } = powertools;
const store = new S3ArtifactStore(tracer.captureAWSv3Client(new S3Client({})));
const evaluate = createEvaluateHandler({
  store,
  championSource: new SageMakerChampionSource(tracer.captureAWSv3Client(new SageMakerClient({})), {
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
    modelPackageGroupName: requireEnv("PMS_MODEL_PACKAGE_GROUP"),
    store,
  }),
  // One scoring thread per vCPU: the function's 4,096 MB come with more than two.
  loadModel: loadModelForScoring,
  log: (message, fields) => logger.info(message, { ...fields }),
  record: (summary, training) => recordEvaluation(metrics, summary, training),
});

export const handler = instrumentHandler(
  powertools,
  async (event: unknown) => {
    const evaluation = await evaluate(event);
    logger.info(evaluation.passed ? "Quality gate passed" : "Quality gate failed", { ...evaluation });
    return evaluation;
  },
  { emitsMetrics: true },
);
