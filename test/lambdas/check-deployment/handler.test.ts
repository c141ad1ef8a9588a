import { DescribeEndpointCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SageMakerModelHost } from "../../../core/deploy/sagemaker-model-host.ts";
import { createCheckDeploymentHandler } from "../../../lambdas/check-deployment/handler.ts";
import { deploymentState, ENDPOINT } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const STARTED = deploymentState();
const BEFORE_DEADLINE = new Date("2026-11-26T02:50:00.000Z");

function describeReturns(status: string, config: string | undefined, extra: Record<string, unknown> = {}) {
  sagemaker
    .on(DescribeEndpointCommand, { EndpointName: ENDPOINT })
    .resolves({ EndpointName: ENDPOINT, EndpointStatus: status, EndpointConfigName: config, ...extra } as never);
}

async function check(now = BEFORE_DEADLINE, state = STARTED) {
  const checkDeployment = createCheckDeploymentHandler({
    host: new SageMakerModelHost({
      sagemaker: new SageMakerClient({ region: "eu-west-1" }),
      runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
    }),
    now: () => now,
  });
  return checkDeployment({ run: {}, deployment: state });
}

beforeEach(() => sagemaker.reset());

describe("check-deployment handler", () => {
  it("keeps waiting while the update is under way", async () => {
    // Prepare
    describeReturns("Updating", STARTED.previousEndpointConfigName ?? undefined, {
      PendingDeploymentSummary: { EndpointConfigName: STARTED.endpointConfigName },
    });

    // Act
    const state = await check();

    // Assess
    expect(state).toEqual({ ...STARTED, status: "Updating", finished: false, succeeded: false, timedOut: false });
  });

  it("succeeds once the endpoint is in service on the new config", async () => {
    // Prepare
    describeReturns("InService", STARTED.endpointConfigName);

    // Act
    const state = await check();

    // Assess
    expect(state).toMatchObject({ status: "InService", finished: true, succeeded: true, timedOut: false });
    expect(state.failureReason).toBeUndefined();
  });

  it("reports a failed first deployment with SageMaker's FailureReason", async () => {
    // Prepare
    describeReturns("Failed", STARTED.endpointConfigName, {
      FailureReason: "The primary container for production variant AllTraffic did not pass the ping health check.",
    });

    // Act
    const state = await check(
      BEFORE_DEADLINE,
      deploymentState({ previousEndpointConfigName: null, status: "Creating" }),
    );

    // Assess
    expect(state).toMatchObject({
      status: "Failed",
      finished: true,
      succeeded: false,
      failureReason: "The primary container for production variant AllTraffic did not pass the ping health check.",
    });
  });

  it("reports a failed update — back in service on the old config — as failed, with the reason", async () => {
    // Prepare
    describeReturns("InService", STARTED.previousEndpointConfigName ?? undefined, {
      FailureReason: "Request to service failed. If failure persists after retry, contact customer support.",
    });

    // Act
    const state = await check();

    // Assess
    expect(state).toMatchObject({ status: "RolledBack", finished: true, succeeded: false, timedOut: false });
    expect(state.failureReason).toBe(
      `The update to ${STARTED.endpointConfigName} was rolled back: Request to service failed. If failure persists after retry, contact customer support.`,
    );
  });

  it("reports an update the alarms rolled back even when SageMaker gives no reason", async () => {
    // Prepare
    describeReturns("InService", STARTED.previousEndpointConfigName ?? undefined, {
      LastDeploymentConfig: {
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: "pms-recommender-invocation-5xx" }] },
      },
    });

    // Act
    const state = await check();

    // Assess
    expect(state).toMatchObject({ finished: true, succeeded: false });
    expect(state.failureReason).toBe(
      `The update to ${STARTED.endpointConfigName} was rolled back; the endpoint still serves ${STARTED.previousEndpointConfigName}`,
    );
  });

  it("times out an update still going at the deadline", async () => {
    // Prepare
    describeReturns("Updating", STARTED.previousEndpointConfigName ?? undefined);

    // Act
    const state = await check(new Date(STARTED.deadline));

    // Assess
    expect(state).toMatchObject({ finished: true, succeeded: false, timedOut: true, status: "Updating" });
    expect(state.failureReason).toMatch(/still Updating at the deadline/);
  });

  it("gives a redriven execution the update's whole timeout again instead of timing out at once", async () => {
    // Prepare: redriven a day after the deadline, the endpoint still updating.
    describeReturns("Updating", STARTED.previousEndpointConfigName ?? undefined);
    const dayLater = new Date(Date.parse(STARTED.deadline) + 86_400_000);
    const checkDeployment = createCheckDeploymentHandler({
      host: new SageMakerModelHost({
        sagemaker: new SageMakerClient({ region: "eu-west-1" }),
        runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
      }),
      timeoutSeconds: 3600,
      now: () => dayLater,
    });

    // Act
    const redriven = await checkDeployment({ run: {}, deployment: STARTED, execution: { redriveCount: 1 } });
    const notRedriven = await checkDeployment({ run: {}, deployment: STARTED, execution: { redriveCount: 0 } });

    // Assess
    expect(redriven).toMatchObject({
      finished: false,
      timedOut: false,
      redriveCount: 1,
      deadline: new Date(dayLater.getTime() + 3_600_000).toISOString(),
    });
    expect(notRedriven).toMatchObject({ finished: true, timedOut: true });
  });

  it("reports an endpoint deleted during the deployment as failed", async () => {
    // Prepare
    sagemaker
      .on(DescribeEndpointCommand)
      .rejects(Object.assign(new Error(`Could not find endpoint "${ENDPOINT}".`), { name: "ValidationException" }));

    // Act
    const state = await check();

    // Assess
    expect(state).toMatchObject({ finished: true, succeeded: false, status: "NotFound" });
  });

  it("names the field when the state has no deployment", async () => {
    // Act / Assess
    await expect(
      createCheckDeploymentHandler({
        host: new SageMakerModelHost({
          sagemaker: new SageMakerClient({ region: "eu-west-1" }),
          runtime: new SageMakerRuntimeClient({ region: "eu-west-1" }),
        }),
      })({ run: {} }),
    ).rejects.toMatchObject({ name: "InvalidTaskEvent", message: expect.stringContaining("deployment") });
  });
});
