import {
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  ListEndpointConfigsCommand,
  ListModelsCommand,
  ListTagsCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import { createCleanUpDeploymentsHandler } from "../../../lambdas/clean-up-deployments/handler.ts";
import { deploymentState, ENDPOINT } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const DEPLOYMENT = deploymentState({ status: "InService", finished: true, succeeded: true });
const older = (n: number) => `${ENDPOINT}-2611${String(n).padStart(2, "0")}-020000-cccccc`;

function cleanUp(keep: number) {
  return createCleanUpDeploymentsHandler({
    cleaner: new SageMakerModelHost({
      sagemaker: new SageMakerClient({ region: "eu-west-1" }),
      runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
    }),
    keep,
  });
}

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(DescribeEndpointCommand).resolves({
    EndpointName: ENDPOINT,
    EndpointStatus: "InService",
    EndpointConfigName: DEPLOYMENT.endpointConfigName,
  } as never);
  // Nightly deployments on the 20th–24th, then the previous (25th) and the new one (26th).
  const configs = [20, 21, 22, 23, 24].map((n) => ({ name: older(n), createdAt: new Date(Date.UTC(2026, 10, n)) }));
  configs.push(
    { name: DEPLOYMENT.previousEndpointConfigName ?? "", createdAt: new Date(Date.UTC(2026, 10, 25)) },
    { name: DEPLOYMENT.endpointConfigName, createdAt: new Date(Date.UTC(2026, 10, 26)) },
  );
  sagemaker.on(ListEndpointConfigsCommand).resolves({
    EndpointConfigs: configs.map((c) => ({
      EndpointConfigName: c.name,
      EndpointConfigArn: `arn:${c.name}`,
      CreationTime: c.createdAt,
    })),
  });
  sagemaker.on(ListModelsCommand).resolves({
    Models: configs.map((c) => ({ ModelName: c.name, ModelArn: `arn:model:${c.name}`, CreationTime: c.createdAt })),
  });
  sagemaker.on(ListTagsCommand).resolves({ Tags: [{ Key: "pms:endpoint", Value: ENDPOINT }] });
  sagemaker.on(DeleteEndpointConfigCommand).resolves({});
  sagemaker.on(DeleteModelCommand).resolves({});
});

describe("clean-up-deployments handler", () => {
  it("keeps the last N deployments and deletes the older configs and models", async () => {
    // Act
    const result = await cleanUp(3)({ deployment: DEPLOYMENT });

    // Assess
    expect(result).toEqual({
      endpointName: ENDPOINT,
      keptEndpointConfigs: [DEPLOYMENT.endpointConfigName, DEPLOYMENT.previousEndpointConfigName, older(24)],
      deletedEndpointConfigs: [older(23), older(22), older(21), older(20)],
      deletedModels: [older(23), older(22), older(21), older(20)],
    });
    expect(sagemaker.commandCalls(DeleteEndpointConfigCommand).map((c) => c.args[0].input)).toEqual(
      [23, 22, 21, 20].map((n) => ({ EndpointConfigName: older(n) })),
    );
    expect(sagemaker.commandCalls(DeleteModelCommand).map((c) => c.args[0].input)).toEqual(
      [23, 22, 21, 20].map((n) => ({ ModelName: older(n) })),
    );
  });

  it("never deletes the serving config or the one before it, even when told to keep a single deployment", async () => {
    // Act
    const result = await cleanUp(1)({ deployment: DEPLOYMENT });

    // Assess
    const deleted = sagemaker.commandCalls(DeleteEndpointConfigCommand).map((c) => c.args[0].input.EndpointConfigName);
    expect(deleted).not.toContain(DEPLOYMENT.endpointConfigName);
    expect(deleted).not.toContain(DEPLOYMENT.previousEndpointConfigName);
    expect(deleted).toHaveLength(5);
    expect(result.keptEndpointConfigs).toEqual([DEPLOYMENT.endpointConfigName, DEPLOYMENT.previousEndpointConfigName]);
  });

  it("fails with CleanUpFailed, keeping the cause, when a delete is refused", async () => {
    // Prepare
    sagemaker.on(DeleteModelCommand).rejects(new Error("AccessDeniedException"));

    // Act / Assess
    await expect(cleanUp(3)({ deployment: DEPLOYMENT })).rejects.toMatchObject({
      name: "CleanUpFailed",
      cause: expect.objectContaining({ message: "AccessDeniedException" }),
    });
  });
});
