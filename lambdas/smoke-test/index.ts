import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { S3ArtifactStore } from "../../core/artifacts/s3.ts";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { parsePositiveInteger } from "../../core/deploy/settings.ts";
import { optionalEnv, requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createSmokeTestHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("smoke-test");
const { logger, tracer } = powertools;
const smokeTest = createSmokeTestHandler({
  host: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
  store: new S3ArtifactStore(tracer.captureAWSv3Client(new S3Client({}))),
  options: {
    p50BudgetMs: parsePositiveInteger(optionalEnv("PMS_SMOKE_TEST_P50_MS", "1000"), "PMS_SMOKE_TEST_P50_MS"),
    maxBudgetMs: parsePositiveInteger(optionalEnv("PMS_SMOKE_TEST_MAX_MS", "5000"), "PMS_SMOKE_TEST_MAX_MS"),
  },
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const result = await smokeTest(event);
  if (result.passed) logger.info("Smoke test passed", { ...result });
  else logger.warn("Smoke test failed", { ...result });
  return result;
});
