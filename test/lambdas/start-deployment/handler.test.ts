import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import { parseEndpointSettings } from "../../../core/deploy/settings.ts";
import { createStartDeploymentHandler } from "../../../lambdas/start-deployment/handler.ts";
import { ALARMS, ENDPOINT, IMAGE, ROLE, runContext } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const NOW = new Date("2026-11-26T02:40:00.000Z");
const MODEL_PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms/4";
const NAME = `${ENDPOINT}-261126-020000-7f3a9c`;
const PREVIOUS = `${ENDPOINT}-261125-020000-1b2c3d`;

function startDeployment() {
  return createStartDeploymentHandler({
    host: new SageMakerModelHost({
      sagemaker: new SageMakerClient({ region: "eu-west-1" }),
      runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
      endpointName: ENDPOINT,
      servingImageUri: IMAGE,
      executionRoleArn: ROLE,
      settings: parseEndpointSettings('{"type":"instance","instanceType":"ml.m5.large","bakingPeriodSeconds":300}'),
      rollbackAlarmNames: ALARMS,
      deployTimeoutSeconds: 1800,
      tags: { project: "post-modern-stack" },
    }),
    endpointName: ENDPOINT,
    timeoutSeconds: 1800,
    now: () => NOW,
  });
}

const event = (approvalStatus = "Approved") => ({
  run: runContext(),
  registration: { modelPackageArn: MODEL_PACKAGE, approvalStatus },
});

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(CreateModelCommand).resolves({});
  sagemaker.on(CreateEndpointConfigCommand).resolves({});
  sagemaker.on(CreateEndpointCommand).resolves({});
  sagemaker.on(UpdateEndpointCommand).resolves({});
});

describe("start-deployment handler", () => {
  it("creates the endpoint on the first deployment and sets the deadline from the timeout", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .rejects(Object.assign(new Error(`Could not find endpoint "${ENDPOINT}".`), { name: "ValidationException" }));

    // Act
    const state = await startDeployment()(event());

    // Assess
    expect(state).toEqual({
      endpointName: ENDPOINT,
      endpointConfigName: NAME,
      modelName: NAME,
      previousEndpointConfigName: null,
      status: "Creating",
      finished: false,
      succeeded: false,
      deadline: "2026-11-26T03:10:00.000Z",
      timedOut: false,
    });
    expect(sagemaker.commandCalls(CreateEndpointCommand)[0]?.args[0].input).toEqual({
      EndpointName: ENDPOINT,
      EndpointConfigName: NAME,
      Tags: [
        { Key: "pms:endpoint", Value: ENDPOINT },
        { Key: "pms:execution", Value: "nightly-2026-11-26" },
        { Key: "pms:run-id", Value: runContext().runId },
        { Key: "project", Value: "post-modern-stack" },
      ],
    });
    expect(sagemaker.commandCalls(CreateModelCommand)[0]?.args[0].input.PrimaryContainer).toEqual({
      Image: IMAGE,
      ModelDataUrl: runContext().uris.model,
    });
  });

  it("updates the serving endpoint all at once with the baking period and the rollback alarms", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .resolves({ EndpointName: ENDPOINT, EndpointStatus: "InService", EndpointConfigName: PREVIOUS } as never);

    // Act
    const state = await startDeployment()(event());

    // Assess
    expect(state).toMatchObject({ status: "Updating", previousEndpointConfigName: PREVIOUS, endpointConfigName: NAME });
    expect(sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input.DeploymentConfig).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 300 },
        TerminationWaitInSeconds: 0,
        MaximumExecutionTimeoutInSeconds: 1740,
      },
      AutoRollbackConfiguration: {
        Alarms: [{ AlarmName: "pms-recommender-invocation-5xx" }, { AlarmName: "pms-recommender-model-latency" }],
      },
    });
  });

  it("never deploys a version that is not Approved", async () => {
    // Act / Assess
    await expect(startDeployment()(event("Rejected"))).rejects.toMatchObject({ name: "DeploymentFailed" });
    expect(sagemaker.commandCalls(CreateModelCommand)).toHaveLength(0);
  });
});
