import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { parsePositiveInteger } from "../../core/deploy/settings.ts";
import { requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createCheckDeploymentHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("check-deployment");
const { logger, tracer } = powertools;
const checkDeployment = createCheckDeploymentHandler({
  host: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
  timeoutSeconds: parsePositiveInteger(requireEnv("PMS_DEPLOY_TIMEOUT_SECONDS"), "PMS_DEPLOY_TIMEOUT_SECONDS"),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const deployment = await checkDeployment(event);
  logger.info("Endpoint checked", { ...deployment });
  return deployment;
});
