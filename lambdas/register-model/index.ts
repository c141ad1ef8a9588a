import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerModelRegistry } from "../../core/deploy/registry.ts";
import { parseResourceTags } from "../../core/deploy/settings.ts";
import { optionalEnv, requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createRegisterModelHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("register-model");
const { logger, tracer } = powertools;
const registerModel = createRegisterModelHandler({
  registry: new SageMakerModelRegistry({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    modelPackageGroupName: requireEnv("PMS_MODEL_PACKAGE_GROUP"),
    servingImageUri: requireEnv("PMS_SERVING_IMAGE_URI"),
    tags: parseResourceTags(optionalEnv("PMS_RESOURCE_TAGS", "{}")),
  }),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const registration = await registerModel(event);
  logger.info("Model version registered", { ...registration });
  return registration;
});
