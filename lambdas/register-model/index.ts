import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerModelRegistry } from "../../core/deploy/registry.ts";
import { parseResourceTags } from "../../core/deploy/settings.ts";
import { optionalEnv, requireEnv } from "../shared/env.ts";
import { createRegisterModelHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "register-model" });
const tracer = new Tracer({ serviceName: "register-model" });
const registerModel = createRegisterModelHandler({
  registry: new SageMakerModelRegistry({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    modelPackageGroupName: requireEnv("PMS_MODEL_PACKAGE_GROUP"),
    servingImageUri: requireEnv("PMS_SERVING_IMAGE_URI"),
    tags: parseResourceTags(optionalEnv("PMS_RESOURCE_TAGS", "{}")),
  }),
});

export const handler = async (event: unknown) => {
  const registration = await registerModel(event);
  logger.info("Model version registered", { ...registration });
  return registration;
};
