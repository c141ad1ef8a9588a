import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeEndpointCommand, SageMakerClient, UpdateEndpointCommand } from "@aws-sdk/client-sagemaker";
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { DuckDBInstance } from "@duckdb/node-api";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import type { InvocationRequest } from "../../../core/ports/model-host.ts";
import { createRollBackDeploymentHandler } from "../../../lambdas/roll-back-deployment/handler.ts";
import { createSmokeTestHandler } from "../../../lambdas/smoke-test/handler.ts";
import { deploymentState, ENDPOINT, runContext } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const runtime = mockClient(SageMakerRuntimeClient);
const DEPLOYMENT = deploymentState({ status: "InService", finished: true, succeeded: true });
let run: ReturnType<typeof runContext>;

/** A test split of 30 yoochoose-like sessions (numeric SKUs, 1–4 clicks) written the way Extract writes it. */
beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), "pms-smoke-"));
  run = runContext({ uris: runArtifactUris(root, "run-1") });
  await mkdir(run.uris.data.test, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run(`COPY (
      SELECT 's' || i AS session_id, 'shop-1' AS tenant, (1396314000000 + i)::BIGINT AS session_start_ms,
             DATE '2014-04-07' AS session_date,
             list_transform(range(1 + i % 4), j -> (214536500 + (i * 7 + j) % 50)::VARCHAR) AS items,
             1 + i % 4 AS length
      FROM range(30) t(i)
    ) TO '${join(run.uris.data.test, "part-0.parquet")}' (FORMAT PARQUET)`);
  connection.closeSync();
  await writeFile(run.uris.data.manifest, JSON.stringify({ splits: { train: { items: 2933 } } }));
});

function host() {
  return new SageMakerModelHost({
    sagemaker: new SageMakerClient({ region: "eu-west-1" }),
    runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
  });
}

function smokeTest(clock?: () => number) {
  return createSmokeTestHandler({
    host: host(),
    store: new FileSystemArtifactStore(),
    options: clock ? { clock } : {},
  });
}

/** Answers like the serving container: `k` distinct items per session, best first. */
function serve(itemsPerSession: (k: number) => number) {
  runtime.on(InvokeEndpointCommand).callsFake((input: { Body: Uint8Array }) => {
    const request = JSON.parse(new TextDecoder().decode(input.Body)) as InvocationRequest;
    const k = request.k ?? 20;
    const recommendations = request.sessions.map(() =>
      Array.from({ length: itemsPerSession(k) }, (_, rank) => ({
        sku: String(214536000 + rank),
        score: 1 / (rank + 1),
      })),
    );
    return { Body: new TextEncoder().encode(JSON.stringify({ recommendations })) };
  });
}

beforeEach(() => {
  sagemaker.reset();
  runtime.reset();
  sagemaker.on(DescribeEndpointCommand).resolves({
    EndpointName: ENDPOINT,
    EndpointStatus: "InService",
    EndpointConfigName: DEPLOYMENT.endpointConfigName,
  } as never);
});

describe("smoke-test handler", () => {
  it("passes an endpoint that answers k items per real test session in time", async () => {
    // Prepare
    serve((k) => k);

    // Act
    const result = await smokeTest()({ run, deployment: DEPLOYMENT });

    // Assess
    expect(result.problems).toEqual([]);
    expect(result.passed).toBe(true);
    // Sessions of one click have no prefix to recommend from: 30 sessions, 22 usable, the first 20 sent.
    expect(result.sessions).toBe(20);
    const calls = runtime.commandCalls(InvokeEndpointCommand);
    expect(calls).toHaveLength(1 + 5 + 1);
    expect(calls.every((call) => call.args[0].input.EndpointName === ENDPOINT)).toBe(true);
    const batch = JSON.parse(new TextDecoder().decode(calls.at(-1)?.args[0].input.Body as Uint8Array));
    expect(batch.k).toBe(20);
    expect(batch.sessions).toHaveLength(20);
    expect(batch.sessions[0]).toEqual(["214536507"]);
  });

  it("fails, without throwing, an endpoint that returns fewer than k items from a large catalogue", async () => {
    // Prepare
    serve(() => 3);

    // Act
    const result = await smokeTest()({ run, deployment: DEPLOYMENT });

    // Assess
    expect(result.passed).toBe(false);
    expect(result.problems).toContain("warm-up request: session 1: 3 items, expected 20 (k=20, catalogue 2933)");
  });

  it("fails an endpoint whose container errors, recording SageMaker's message", async () => {
    // Prepare
    runtime.on(InvokeEndpointCommand).rejects(
      new ModelError({
        message: 'Received server error (500) from primary with message "model not loaded"',
        $metadata: {},
      }),
    );

    // Act
    const result = await smokeTest()({ run, deployment: DEPLOYMENT });

    // Assess
    expect(result.passed).toBe(false);
    expect(result.problems[0]).toMatch(
      /^warm-up request: invocation failed: ModelError: Received server error \(500\)/,
    );
  });

  it("fails an endpoint that is too slow", async () => {
    // Prepare: every request takes 1.5 s on the injected clock.
    serve((k) => k);
    let now = 0;
    const clock = () => {
      now += 750;
      return now;
    };

    // Act
    const result = await smokeTest(clock)({ run, deployment: DEPLOYMENT });

    // Assess
    expect(result.latencyMs).toEqual({ p50: 750, max: 750 });
    expect(result.passed).toBe(true);
    let slow = 0;
    const slowClock = () => {
      slow += 1500;
      return slow;
    };
    const slowResult = await smokeTest(slowClock)({ run, deployment: DEPLOYMENT });
    expect(slowResult.passed).toBe(false);
    expect(slowResult.problems).toEqual(["median latency 1500 ms is over the 1000 ms budget"]);
  });

  it("fails when the endpoint does not serve the deployed config", async () => {
    // Prepare
    serve((k) => k);
    sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: ENDPOINT,
      EndpointStatus: "InService",
      EndpointConfigName: DEPLOYMENT.previousEndpointConfigName,
    } as never);

    // Act
    const result = await smokeTest()({ run, deployment: DEPLOYMENT });

    // Assess
    expect(result.passed).toBe(false);
    expect(result.problems[0]).toContain(`expected InService serving ${DEPLOYMENT.endpointConfigName}`);
  });

  it("fails with a clear problem when the test split is missing", async () => {
    // Prepare
    serve((k) => k);
    const missing = runContext({ uris: runArtifactUris("/nonexistent-pms", "run-x") });

    // Act
    const result = await smokeTest()({ run: missing, deployment: DEPLOYMENT });

    // Assess
    expect(result.passed).toBe(false);
    expect(result.problems[0]).toMatch(
      /could not read the run's test sessions \(\/nonexistent-pms\/runs\/run-x\/data\/test\/\)/,
    );
    expect(runtime.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it("rolls the endpoint back to the previous config after a failed smoke test", async () => {
    // Prepare
    serve(() => 0);
    sagemaker.on(UpdateEndpointCommand).resolves({});
    const smoke = await smokeTest()({ run, deployment: DEPLOYMENT });

    // Act
    const rollback = await createRollBackDeploymentHandler({ host: host() })({
      run,
      deployment: DEPLOYMENT,
      smokeTest: smoke,
    });

    // Assess
    expect(smoke.passed).toBe(false);
    expect(rollback).toEqual({
      endpointName: ENDPOINT,
      action: "restored-previous",
      endpointConfigName: DEPLOYMENT.previousEndpointConfigName,
    });
    expect(sagemaker.commandCalls(UpdateEndpointCommand).map((call) => call.args[0].input)).toEqual([
      {
        EndpointName: ENDPOINT,
        EndpointConfigName: DEPLOYMENT.previousEndpointConfigName,
        RetainAllVariantProperties: false,
        RetainDeploymentConfig: false,
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 0 },
            TerminationWaitInSeconds: 0,
          },
        },
      },
    ]);
  });
});
