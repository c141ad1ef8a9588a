import { z } from "zod";
import { refreshDeploymentState } from "../../core/deploy/deployment-state.ts";
import { DeploymentStateSchema } from "../../core/deploy/task-schemas.ts";
import type { DeploymentState } from "../../core/pipeline/contracts.ts";
import type { ModelHost } from "../../core/ports/model-host.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CheckDeploymentEventSchema = z.looseObject({ deployment: DeploymentStateSchema });

export interface CheckDeploymentDependencies {
  readonly host: ModelHost;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Check the endpoint": refreshes `$.deployment`. `finished && !succeeded` covers a failed creation,
 * a failed or alarm-rolled-back update (the old model still serves) and the deadline passing.
 */
export function createCheckDeploymentHandler({ host, now = () => new Date() }: CheckDeploymentDependencies) {
  return async (event: unknown): Promise<DeploymentState> => {
    const { deployment } = parseTaskEvent(CheckDeploymentEventSchema, event, "Check the endpoint");
    return refreshDeploymentState(host, deployment as DeploymentState, now());
  };
}
