import { DeleteEndpointCommand, SageMakerClient, UpdateEndpointCommand } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import type { ModelHost } from "../../../core/ports/model-host.ts";
import { createRollBackDeploymentHandler } from "../../../lambdas/roll-back-deployment/handler.ts";
import { deploymentState, ENDPOINT } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const host = () =>
  new SageMakerModelHost({
    sagemaker: new SageMakerClient({ region: "eu-west-1" }),
    runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
  });

beforeEach(() => sagemaker.reset());

describe("roll-back-deployment handler", () => {
  it("deletes the endpoint when its first model fails the smoke test (nothing to go back to)", async () => {
    // Prepare
    sagemaker.on(DeleteEndpointCommand).resolves({});
    const deployment = deploymentState({ previousEndpointConfigName: null, status: "InService" });

    // Act
    const result = await createRollBackDeploymentHandler({ host: host() })({ deployment });

    // Assess
    expect(result).toEqual({ endpointName: ENDPOINT, action: "deleted-endpoint", endpointConfigName: null });
    expect(sagemaker.commandCalls(DeleteEndpointCommand).map((call) => call.args[0].input)).toEqual([
      { EndpointName: ENDPOINT },
    ]);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  it("refuses, with DeploymentFailed, when the host cannot delete and there is no previous config", async () => {
    // Prepare
    const limited = { rollBack: async () => undefined } as unknown as ModelHost;

    // Act / Assess
    await expect(
      createRollBackDeploymentHandler({ host: limited })({
        deployment: deploymentState({ previousEndpointConfigName: null }),
      }),
    ).rejects.toMatchObject({ name: "DeploymentFailed" });
  });
});
