import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createRollBackDeploymentHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("roll-back-deployment");
const { logger, tracer } = powertools;
const rollBack = createRollBackDeploymentHandler({
  host: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const result = await rollBack(event);
  logger.warn("Endpoint rolled back after a failed smoke test", { ...result });
  return result;
});
