import type { DeploymentState } from "../pipeline/contracts.ts";
import type { DeploymentRequest, ModelHost } from "../ports/model-host.ts";
import { EndpointNotFoundError } from "./errors.ts";

/** Statuses after which SageMaker (or the local host) is still working on the endpoint. */
export const TRANSITIONAL_STATUSES = new Set(["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"]);

/**
 * Starts a deployment and returns the state "Check the endpoint" refreshes until it is finished.
 * The handler is one-shot: the state machine does the waiting.
 */
export async function startDeployment(
  host: ModelHost,
  request: DeploymentRequest,
  options: { readonly timeoutSeconds: number; readonly now?: Date },
): Promise<DeploymentState> {
  const now = options.now ?? new Date();
  const deployment = await host.deploy(request);
  return {
    ...deployment,
    status: deployment.previousEndpointConfigName === null ? "Creating" : "Updating",
    finished: false,
    succeeded: false,
    deadline: new Date(now.getTime() + options.timeoutSeconds * 1000).toISOString(),
    timedOut: false,
  };
}

/**
 * Reads the endpoint and says whether the deployment is over and how it ended.
 *
 * A failed or alarm-rolled-back blue/green update does not leave the endpoint `Failed`: SageMaker
 * puts it back `InService` on the old fleet. So success means "in service AND serving our config";
 * in service on any other config means the update was rolled back, reported with SageMaker's
 * FailureReason when it gives one.
 */
export async function refreshDeploymentState(
  host: ModelHost,
  state: DeploymentState,
  now: Date = new Date(),
): Promise<DeploymentState> {
  let endpoint: Awaited<ReturnType<ModelHost["status"]>>;
  try {
    endpoint = await host.status(state.endpointName);
  } catch (error) {
    if (!(error instanceof EndpointNotFoundError)) throw error;
    return finish(state, "NotFound", `Endpoint ${state.endpointName} no longer exists (deleted during the deployment)`);
  }
  if (endpoint.status === "InService" && endpoint.endpointConfigName === state.endpointConfigName) {
    return { ...state, status: endpoint.status, finished: true, succeeded: true, timedOut: false };
  }
  if (endpoint.status === "InService") {
    const serving = endpoint.endpointConfigName ?? "no config";
    const reason = endpoint.failureReason
      ? `The update to ${state.endpointConfigName} was rolled back: ${endpoint.failureReason}`
      : `The update to ${state.endpointConfigName} was rolled back; the endpoint still serves ${serving}`;
    return finish(state, "RolledBack", reason);
  }
  if (TRANSITIONAL_STATUSES.has(endpoint.status) && endpoint.status !== "Deleting") {
    if (now.getTime() >= Date.parse(state.deadline)) {
      return {
        ...state,
        status: endpoint.status,
        finished: true,
        succeeded: false,
        timedOut: true,
        failureReason: `The endpoint was still ${endpoint.status} at the deadline ${state.deadline}`,
      };
    }
    return { ...state, status: endpoint.status, finished: false, succeeded: false, timedOut: false };
  }
  return finish(
    state,
    endpoint.status,
    endpoint.failureReason ?? `The endpoint is ${endpoint.status} (no failure reason given)`,
  );
}

function finish(state: DeploymentState, status: string, failureReason: string): DeploymentState {
  return { ...state, status, finished: true, succeeded: false, timedOut: false, failureReason };
}
