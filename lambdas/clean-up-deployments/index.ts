import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { parsePositiveInteger } from "../../core/deploy/settings.ts";
import { requireEnv } from "../shared/env.ts";
import { createCleanUpDeploymentsHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "clean-up-deployments" });
const tracer = new Tracer({ serviceName: "clean-up-deployments" });
const cleanUp = createCleanUpDeploymentsHandler({
  cleaner: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
  keep: parsePositiveInteger(requireEnv("PMS_KEEP_DEPLOYMENTS"), "PMS_KEEP_DEPLOYMENTS"),
});

export const handler = async (event: unknown) => {
  const result = await cleanUp(event);
  logger.info("Old deployments cleaned up", { ...result });
  return result;
};
