import { z } from "zod";
import { startDeployment } from "../../core/deploy/deployment-state.ts";
import { DeploymentError } from "../../core/deploy/errors.ts";
import { DeployRunSchema, RegistrationResultSchema } from "../../core/deploy/task-schemas.ts";
import type { DeploymentState } from "../../core/pipeline/contracts.ts";
import type { ModelHost } from "../../core/ports/model-host.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const StartDeploymentEventSchema = z.looseObject({ run: DeployRunSchema, registration: RegistrationResultSchema });

export interface StartDeploymentDependencies {
  readonly host: ModelHost;
  readonly endpointName: string;
  /** `PMS_DEPLOY_TIMEOUT_SECONDS`: how long "Check the endpoint" waits before calling it failed. */
  readonly timeoutSeconds: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Start the deployment": creates the model and endpoint config and starts the endpoint creation or
 * blue/green update, then returns at once — the state machine waits and checks.
 */
export function createStartDeploymentHandler({
  host,
  endpointName,
  timeoutSeconds,
  now = () => new Date(),
}: StartDeploymentDependencies) {
  return async (event: unknown): Promise<DeploymentState> => {
    const { run, registration } = parseTaskEvent(StartDeploymentEventSchema, event, "Start the deployment");
    if (registration.approvalStatus !== "Approved") {
      throw new DeploymentError(
        `Model version ${registration.modelPackageArn} is ${registration.approvalStatus}; only Approved versions are deployed`,
      );
    }
    return startDeployment(
      host,
      {
        endpointName,
        runId: run.runId,
        shortId: run.shortId,
        modelUri: run.uris.model,
        modelPackageArn: registration.modelPackageArn,
        tags: { "pms:execution": run.executionName },
      },
      { timeoutSeconds, now: now() },
    );
  };
}
