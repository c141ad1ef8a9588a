import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  ListEndpointConfigsCommand,
  ListModelsCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { InvokeEndpointCommand, SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { EndpointBusyError, EndpointNeedsAttentionError } from "../../../core/deploy/errors.ts";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import { parseEndpointSettings } from "../../../core/deploy/settings.ts";
import { ALARMS, ENDPOINT, IMAGE, ROLE } from "./fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const runtime = mockClient(SageMakerRuntimeClient);

const NAME = `${ENDPOINT}-261126-020000-7f3a9c`;
const PREVIOUS = `${ENDPOINT}-261125-020000-1b2c3d`;
const REQUEST = {
  runId: "20261126T020000-nightly-7f3a9c",
  shortId: "261126-020000-7f3a9c",
  modelUri: "s3://pms-artifacts/runs/20261126T020000-nightly-7f3a9c/model/model.tar.gz",
  modelPackageArn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms-recommender/7",
  tags: { "pms:execution": "nightly-2026-11-26" },
};
const EXPECTED_TAGS = [
  { Key: "pms:endpoint", Value: ENDPOINT },
  { Key: "pms:execution", Value: "nightly-2026-11-26" },
  { Key: "pms:run-id", Value: REQUEST.runId },
  { Key: "project", Value: "post-modern-stack" },
];

function host(
  settings = '{"type":"instance","instanceType":"ml.c6i.large","instanceCount":2,"trafficShifting":"canary","stepPercent":25,"bakingPeriodSeconds":600}',
) {
  return new SageMakerModelHost({
    sagemaker: new SageMakerClient({ region: "eu-west-1" }),
    runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
    endpointName: ENDPOINT,
    servingImageUri: IMAGE,
    executionRoleArn: ROLE,
    settings: parseEndpointSettings(settings),
    rollbackAlarmNames: ALARMS,
    deployTimeoutSeconds: 3600,
    tags: { project: "post-modern-stack" },
  });
}

function notFound(what: string) {
  return Object.assign(new Error(`Could not find endpoint "${what}".`), { name: "ValidationException" });
}

function endpoint(status: string, config: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    EndpointName: ENDPOINT,
    EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${ENDPOINT}`,
    EndpointConfigName: config,
    EndpointStatus: status,
    CreationTime: new Date(),
    LastModifiedTime: new Date(),
    ...extra,
  } as never;
}

beforeEach(() => {
  sagemaker.reset();
  runtime.reset();
});

describe("SageMakerModelHost.deploy", () => {
  it("creates model, endpoint config and the endpoint on the first deployment", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).rejects(notFound(ENDPOINT));
    sagemaker.on(CreateModelCommand).resolves({ ModelArn: "arn:model" });
    sagemaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: "arn:config" });
    sagemaker.on(CreateEndpointCommand).resolves({ EndpointArn: "arn:endpoint" });

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment).toEqual({
      endpointName: ENDPOINT,
      endpointConfigName: NAME,
      modelName: NAME,
      previousEndpointConfigName: null,
    });
    expect(sagemaker.commandCalls(CreateModelCommand)[0]?.args[0].input).toEqual({
      ModelName: NAME,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: REQUEST.modelUri },
      ExecutionRoleArn: ROLE,
      Tags: [...EXPECTED_TAGS, { Key: "pms:model-package", Value: REQUEST.modelPackageArn }],
    });
    expect(sagemaker.commandCalls(CreateEndpointConfigCommand)[0]?.args[0].input).toEqual({
      EndpointConfigName: NAME,
      ProductionVariants: [
        {
          VariantName: "AllTraffic",
          ModelName: NAME,
          InstanceType: "ml.c6i.large",
          InitialInstanceCount: 2,
          InitialVariantWeight: 1,
        },
      ],
      Tags: EXPECTED_TAGS,
    });
    expect(sagemaker.commandCalls(CreateEndpointCommand)[0]?.args[0].input).toEqual({
      EndpointName: ENDPOINT,
      EndpointConfigName: NAME,
      Tags: EXPECTED_TAGS,
    });
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  it("updates a serving endpoint blue/green with canary steps, a baking period and the rollback alarms", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", PREVIOUS));
    sagemaker.on(CreateModelCommand).resolves({ ModelArn: "arn:model" });
    sagemaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: "arn:config" });
    sagemaker.on(UpdateEndpointCommand).resolves({ EndpointArn: "arn:endpoint" });

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment.previousEndpointConfigName).toBe(PREVIOUS);
    expect(sagemaker.commandCalls(CreateEndpointConfigCommand)[0]?.args[0].input.Tags).toEqual([
      ...EXPECTED_TAGS,
      { Key: "pms:previous-endpoint-config", Value: PREVIOUS },
    ]);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input).toEqual({
      EndpointName: ENDPOINT,
      EndpointConfigName: NAME,
      RetainAllVariantProperties: false,
      RetainDeploymentConfig: false,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: "CANARY",
            CanarySize: { Type: "CAPACITY_PERCENT", Value: 25 },
            WaitIntervalInSeconds: 600,
          },
          TerminationWaitInSeconds: 0,
          MaximumExecutionTimeoutInSeconds: 3540,
        },
        AutoRollbackConfiguration: {
          Alarms: [{ AlarmName: "pms-recommender-invocation-5xx" }, { AlarmName: "pms-recommender-model-latency" }],
        },
      },
    });
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
  });

  it("updates a serverless endpoint all at once, still baked and watched by the alarms", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", PREVIOUS));
    sagemaker.on(UpdateEndpointCommand).resolves({});

    // Act
    await host('{"type":"serverless","memorySizeMb":2048,"maxConcurrency":10,"bakingPeriodSeconds":120}').deploy(
      REQUEST,
    );

    // Assess
    expect(sagemaker.commandCalls(CreateEndpointConfigCommand)[0]?.args[0].input.ProductionVariants).toEqual([
      { VariantName: "AllTraffic", ModelName: NAME, ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 10 } },
    ]);
    const config = sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input.DeploymentConfig;
    expect(config?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration).toEqual({
      Type: "ALL_AT_ONCE",
      WaitIntervalInSeconds: 120,
    });
    expect(config?.AutoRollbackConfiguration?.Alarms).toHaveLength(2);
  });

  it("treats the model and config of an earlier attempt of the same run as its own (Task retry)", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", PREVIOUS));
    const exists = (what: string) =>
      Object.assign(new Error(`Cannot create already existing ${what}.`), { name: "ValidationException" });
    sagemaker.on(CreateModelCommand).rejects(exists("model"));
    sagemaker.on(CreateEndpointConfigCommand).rejects(exists("endpoint configuration"));
    sagemaker.on(UpdateEndpointCommand).resolves({});

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment.endpointConfigName).toBe(NAME);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
  });

  it("reports the update already under way when a retried Task finds it pending", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .resolves(endpoint("Updating", PREVIOUS, { PendingDeploymentSummary: { EndpointConfigName: NAME } }));

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment.previousEndpointConfigName).toBe(PREVIOUS);
    expect(sagemaker.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  it("reports the endpoint creation already under way when a retried first deployment finds it", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("Creating", NAME));

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment).toMatchObject({ endpointConfigName: NAME, previousEndpointConfigName: null });
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
  });

  it("finds the config it replaced from its tag when the retried deployment already finished", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", NAME));
    sagemaker
      .on(DescribeEndpointConfigCommand, { EndpointConfigName: NAME })
      .resolves({ EndpointConfigName: NAME, EndpointConfigArn: "arn:config:new" } as never);
    sagemaker
      .on(ListTagsCommand, { ResourceArn: "arn:config:new" })
      .resolves({ Tags: [{ Key: "pms:previous-endpoint-config", Value: PREVIOUS }] });

    // Act
    const deployment = await host().deploy(REQUEST);

    // Assess
    expect(deployment.previousEndpointConfigName).toBe(PREVIOUS);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  it("refuses to start while another change is in progress, with a retryable error", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .resolves(endpoint("Updating", PREVIOUS, { PendingDeploymentSummary: { EndpointConfigName: "someone-else" } }));

    // Act / Assess
    await expect(host().deploy(REQUEST)).rejects.toBeInstanceOf(EndpointBusyError);
    expect(sagemaker.commandCalls(CreateModelCommand)).toHaveLength(0);
  });

  it("deletes a Failed endpoint (SageMaker allows nothing else) and asks for a retry", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .resolves(endpoint("Failed", PREVIOUS, { FailureReason: "CannotStartContainerError" }));
    sagemaker.on(DeleteEndpointCommand).resolves({});

    // Act / Assess
    await expect(host().deploy(REQUEST)).rejects.toThrow(/was Failed \(CannotStartContainerError\)/);
    expect(sagemaker.commandCalls(DeleteEndpointCommand)[0]?.args[0].input).toEqual({ EndpointName: ENDPOINT });
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
  });

  it("stops for a person when the endpoint's own rollback failed", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("UpdateRollbackFailed", PREVIOUS));

    // Act / Assess
    await expect(host().deploy(REQUEST)).rejects.toBeInstanceOf(EndpointNeedsAttentionError);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });
});

describe("SageMakerModelHost.rollBack, deleteEndpoint and invoke", () => {
  it("updates the endpoint back to the previous config all at once, without alarms", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", NAME));
    sagemaker.on(UpdateEndpointCommand).resolves({});

    // Act
    await host().rollBack(ENDPOINT, PREVIOUS);

    // Assess
    expect(sagemaker.commandCalls(UpdateEndpointCommand)[0]?.args[0].input).toEqual({
      EndpointName: ENDPOINT,
      EndpointConfigName: PREVIOUS,
      RetainAllVariantProperties: false,
      RetainDeploymentConfig: false,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 0 },
          TerminationWaitInSeconds: 0,
        },
      },
    });
  });

  it("does nothing when the endpoint already serves the previous config", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", PREVIOUS));

    // Act
    await host().rollBack(ENDPOINT, PREVIOUS);

    // Assess
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  it("sends the serving contract's JSON and checks the answer's shape", async () => {
    // Prepare
    const body = { recommendations: [[{ sku: "214536502", score: 0.4 }]] };
    runtime.on(InvokeEndpointCommand).resolves({ Body: new TextEncoder().encode(JSON.stringify(body)) as never });

    // Act
    const response = await host().invoke(ENDPOINT, { sessions: [["214536500"]], k: 1 });

    // Assess
    expect(response).toEqual(body);
    const input = runtime.commandCalls(InvokeEndpointCommand)[0]?.args[0].input;
    expect(input?.ContentType).toBe("application/json");
    expect(JSON.parse(new TextDecoder().decode(input?.Body as Uint8Array))).toEqual({
      sessions: [["214536500"]],
      k: 1,
    });
  });

  it("rejects an answer that breaks the serving contract", async () => {
    // Prepare
    runtime
      .on(InvokeEndpointCommand)
      .resolves({ Body: new TextEncoder().encode('{"recommendations":[[{"sku":1}]]}') as never });

    // Act / Assess
    await expect(host().invoke(ENDPOINT, { sessions: [["1"]] })).rejects.toThrow(/recommendations\.0\.0\.sku/);
  });
});

describe("SageMakerModelHost.cleanUp", () => {
  const day = (n: number) => new Date(Date.UTC(2026, 10, n, 2));
  const configName = (n: number) => `${ENDPOINT}-2611${String(n).padStart(2, "0")}-020000-aaaaaa`;

  it("deletes configs and models beyond the newest N but never the serving one or the one before it", async () => {
    // Prepare: ten nightly deployments; the endpoint was rolled back to day 3 by hand, day 2 before it.
    const days = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    sagemaker.on(DescribeEndpointCommand).resolves(endpoint("InService", configName(3)));
    sagemaker.on(ListEndpointConfigsCommand).resolves({
      EndpointConfigs: [
        ...days.map((n) => ({
          EndpointConfigName: configName(n),
          EndpointConfigArn: `arn:config:${n}`,
          CreationTime: day(n),
        })),
        // Another endpoint's config whose name merely starts like ours: not ours to delete.
        {
          EndpointConfigName: `${ENDPOINT}-v2-261101-020000-bbbbbb`,
          EndpointConfigArn: "arn:config:other",
          CreationTime: day(1),
        },
      ],
    });
    sagemaker.on(ListModelsCommand).resolves({
      Models: [
        ...days.map((n) => ({ ModelName: configName(n), ModelArn: `arn:model:${n}`, CreationTime: day(n) })),
        // A run deploying right now: its model exists, its config not yet.
        { ModelName: configName(11), ModelArn: "arn:model:11", CreationTime: day(11) },
      ],
    });
    sagemaker.on(ListTagsCommand).resolves({ Tags: [{ Key: "pms:endpoint", Value: ENDPOINT }] });
    sagemaker.on(ListTagsCommand, { ResourceArn: "arn:config:other" }).resolves({
      Tags: [{ Key: "pms:endpoint", Value: `${ENDPOINT}-v2` }],
    });
    sagemaker.on(DeleteEndpointConfigCommand).resolves({});
    sagemaker.on(DeleteModelCommand).resolves({});

    // Act
    const result = await host().cleanUp({ endpointName: ENDPOINT, keep: 3, protect: [configName(3), configName(2)] });

    // Assess
    expect(result.keptEndpointConfigs).toEqual([
      configName(10),
      configName(9),
      configName(8),
      configName(3),
      configName(2),
    ]);
    const deletedConfigs = sagemaker
      .commandCalls(DeleteEndpointConfigCommand)
      .map((call) => call.args[0].input.EndpointConfigName);
    const deletedModels = sagemaker.commandCalls(DeleteModelCommand).map((call) => call.args[0].input.ModelName);
    expect(deletedConfigs).toEqual([7, 6, 5, 4, 1].map(configName));
    expect(deletedModels).toEqual([7, 6, 5, 4, 1].map(configName));
    expect(deletedConfigs).not.toContain(configName(3));
    expect(deletedConfigs).not.toContain(`${ENDPOINT}-v2-261101-020000-bbbbbb`);
    expect(deletedModels).not.toContain(configName(11));
    expect(result.deletedEndpointConfigs).toEqual(deletedConfigs);
    expect(sagemaker.commandCalls(ListEndpointConfigsCommand)[0]?.args[0].input.NameContains).toBe(`${ENDPOINT}-`);
  });

  it("keeps the config an update is moving to even when it is not among the newest", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .resolves(
        endpoint("Updating", configName(2), { PendingDeploymentSummary: { EndpointConfigName: configName(1) } }),
      );
    sagemaker.on(ListEndpointConfigsCommand).resolves({
      EndpointConfigs: [1, 2, 3, 4].map((n) => ({
        EndpointConfigName: configName(n),
        EndpointConfigArn: `arn:config:${n}`,
        CreationTime: day(n),
      })),
    });
    sagemaker.on(ListModelsCommand).resolves({ Models: [] });
    sagemaker.on(ListTagsCommand).resolves({ Tags: [{ Key: "pms:endpoint", Value: ENDPOINT }] });
    sagemaker.on(DeleteEndpointConfigCommand).resolves({});

    // Act
    const result = await host().cleanUp({ endpointName: ENDPOINT, keep: 1, protect: [] });

    // Assess
    expect(result.deletedEndpointConfigs).toEqual([configName(3)]);
  });
});
