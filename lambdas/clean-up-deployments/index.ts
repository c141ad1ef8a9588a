import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { SageMakerModelHost } from "../../core/deploy/sagemaker-model-host.ts";
import { parsePositiveInteger } from "../../core/deploy/settings.ts";
import { requireEnv } from "../shared/env.ts";
import { recordDeployedVersion } from "../shared/pipeline-metrics.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createCleanUpDeploymentsHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("clean-up-deployments");
const { logger, tracer, metrics } = powertools;
const cleanUp = createCleanUpDeploymentsHandler({
  cleaner: new SageMakerModelHost({
    sagemaker: tracer.captureAWSv3Client(new SageMakerClient({})),
    runtime: tracer.captureAWSv3Client(new SageMakerRuntimeClient({})),
    endpointName: requireEnv("PMS_ENDPOINT_NAME"),
  }),
  keep: parsePositiveInteger(requireEnv("PMS_KEEP_DEPLOYMENTS"), "PMS_KEEP_DEPLOYMENTS"),
});

// The last step of a successful deployment: the version it leaves serving becomes a metric.
export const handler = instrumentHandler(
  powertools,
  async (event: unknown) => {
    const result = await cleanUp(event);
    const deployedVersion = recordDeployedVersion(metrics, event);
    logger.info("Old deployments cleaned up", { ...result, deployedVersion });
    return result;
  },
  { emitsMetrics: true },
);
