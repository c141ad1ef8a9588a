import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { requireEnv } from "../shared/env.ts";
import { createRollBackDeploymentHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "roll-back-deployment" });
const tracer = new Tracer({ serviceName: "roll-back-deployment" });
const rollBack = createRollBackDeploymentHandler({
  host: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
});

export const handler = async (event: unknown) => {
  const result = await rollBack(event);
  logger.warn("Endpoint rolled back after a failed smoke test", { ...result });
  return result;
};
