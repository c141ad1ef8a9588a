import { dbtCloudTransformerFromEnvironment, dbtRunTimeoutSeconds } from "../shared/dbt-run.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createCheckDbtRunHandler } from "./handler.ts";

// Logger, Tracer (which also traces the fetch calls of dbt Cloud's client) and Metrics, once per container.
const powertools = createPowertools("check-dbt-run");
const { logger } = powertools;
const checkDbtRun = createCheckDbtRunHandler({
  transformer: dbtCloudTransformerFromEnvironment(),
  timeoutSeconds: dbtRunTimeoutSeconds(),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const state = await checkDbtRun(event);
  logger.info("dbt run", { runId: state.runId, runUrl: state.runUrl, status: state.status, timedOut: state.timedOut });
  return state;
});
