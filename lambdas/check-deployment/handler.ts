import { z } from "zod";
import { refreshDeploymentState } from "../../core/deploy/deployment-state.ts";
import { DeploymentStateSchema } from "../../core/deploy/task-schemas.ts";
import type { DeploymentState } from "../../core/pipeline/contracts.ts";
import { deadlineInForce } from "../../core/pipeline/poll-budget.ts";
import type { ModelHost } from "../../core/ports/model-host.ts";
import { ExecutionRedriveSchema, redriveCountOf } from "../shared/redrive.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const CheckDeploymentEventSchema = z.looseObject({
  deployment: DeploymentStateSchema,
  execution: ExecutionRedriveSchema,
});

export interface CheckDeploymentDependencies {
  readonly host: ModelHost;
  /**
   * `PMS_DEPLOY_TIMEOUT_SECONDS`: the budget a redriven execution gives the update again from the redrive.
   * @default the deadline in the state stands (the local twin, never redriven)
   */
  readonly timeoutSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Check the endpoint": refreshes `$.deployment`. `finished && !succeeded` covers a failed creation,
 * a failed or alarm-rolled-back update (the old model still serves) and the deadline passing.
 */
export function createCheckDeploymentHandler({
  host,
  timeoutSeconds,
  now = () => new Date(),
}: CheckDeploymentDependencies) {
  return async (event: unknown): Promise<DeploymentState> => {
    const parsed = parseTaskEvent(CheckDeploymentEventSchema, event, "Check the endpoint");
    const deployment = parsed.deployment as DeploymentState;
    const inForce =
      timeoutSeconds === undefined ? {} : deadlineInForce(deployment, redriveCountOf(parsed), timeoutSeconds, now());
    return refreshDeploymentState(host, { ...deployment, ...inForce }, now());
  };
}
