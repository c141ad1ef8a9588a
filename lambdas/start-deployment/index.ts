import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import {
  parseAlarmNames,
  parseEndpointSettings,
  parsePositiveInteger,
  parseResourceTags,
} from "../../core/deploy/settings.ts";
import { requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createStartDeploymentHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("start-deployment");
const { logger, tracer } = powertools;
const endpointName = requireEnv("PMS_ENDPOINT_NAME");
const timeoutSeconds = parsePositiveInteger(requireEnv("PMS_DEPLOY_TIMEOUT_SECONDS"), "PMS_DEPLOY_TIMEOUT_SECONDS");
const startDeployment = createStartDeploymentHandler({
  host: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName,
    servingImageUri: requireEnv("PMS_SERVING_IMAGE_URI"),
    executionRoleArn: requireEnv("PMS_SAGEMAKER_ROLE_ARN"),
    settings: parseEndpointSettings(requireEnv("PMS_ENDPOINT_SETTINGS")),
    rollbackAlarmNames: parseAlarmNames(requireEnv("PMS_ROLLBACK_ALARM_NAMES")),
    deployTimeoutSeconds: timeoutSeconds,
    tags: parseResourceTags(requireEnv("PMS_RESOURCE_TAGS")),
  }),
  endpointName,
  timeoutSeconds,
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const deployment = await startDeployment(event);
  logger.info("Deployment started", { ...deployment });
  return deployment;
});
