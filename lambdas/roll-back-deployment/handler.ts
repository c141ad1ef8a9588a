import { z } from "zod";
import { DeploymentError } from "../../core/deploy/errors.ts";
import { DeploymentStateSchema } from "../../core/deploy/task-schemas.ts";
import type { ModelHost } from "../../core/ports/model-host.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const RollBackEventSchema = z.looseObject({ deployment: DeploymentStateSchema });

export interface RollbackResult {
  readonly endpointName: string;
  /** `restored-previous`: the endpoint is updated back to the config it served before. `deleted-endpoint`: this was the first deployment, nothing to go back to. */
  readonly action: "restored-previous" | "deleted-endpoint";
  readonly endpointConfigName: string | null;
}

export interface RollBackDependencies {
  readonly host: ModelHost;
}

/**
 * "Roll back the endpoint" after a failed smoke test. With a previous config the endpoint is updated
 * back to it (all at once: the new model is known bad). Without one — the endpoint's first model
 * failed — the endpoint is deleted: no endpoint is better than one that answers wrongly, and the next
 * run creates it afresh. One-shot: the state machine fails the execution right after.
 */
export function createRollBackDeploymentHandler({ host }: RollBackDependencies) {
  return async (event: unknown): Promise<RollbackResult> => {
    const { deployment } = parseTaskEvent(RollBackEventSchema, event, "Roll back the endpoint");
    const { endpointName, previousEndpointConfigName } = deployment;
    if (previousEndpointConfigName !== null) {
      await host.rollBack(endpointName, previousEndpointConfigName);
      return { endpointName, action: "restored-previous", endpointConfigName: previousEndpointConfigName };
    }
    if (!host.deleteEndpoint) {
      throw new DeploymentError(`Endpoint ${endpointName} has no previous config and this host cannot delete it`);
    }
    await host.deleteEndpoint(endpointName);
    return { endpointName, action: "deleted-endpoint", endpointConfigName: null };
  };
}
