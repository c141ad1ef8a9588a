import { z } from "zod";
import type { DeploymentCleaner } from "../../core/deploy/cleanup.ts";
import { CleanUpError } from "../../core/deploy/errors.ts";
import { DeploymentStateSchema } from "../../core/deploy/task-schemas.ts";
import type { CleanupResult } from "../../core/pipeline/contracts.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CleanUpEventSchema = z.looseObject({ deployment: DeploymentStateSchema });

export interface CleanUpDeploymentsDependencies {
  readonly cleaner: DeploymentCleaner;
  /** `PMS_KEEP_DEPLOYMENTS`: the newest deployments kept besides the serving one and the one before it. */
  readonly keep: number;
}

/** "Clean up old deployments": deletes endpoint configs and models older than the last `keep` deployments. */
export function createCleanUpDeploymentsHandler({ cleaner, keep }: CleanUpDeploymentsDependencies) {
  return async (event: unknown): Promise<CleanupResult> => {
    const { deployment } = parseTaskEvent(CleanUpEventSchema, event, "Clean up old deployments");
    try {
      return await cleaner.cleanUp({
        endpointName: deployment.endpointName,
        keep,
        protect: [deployment.endpointConfigName, deployment.previousEndpointConfigName],
      });
    } catch (error) {
      throw new CleanUpError(
        `Cleaning up old deployments of ${deployment.endpointName} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
}
