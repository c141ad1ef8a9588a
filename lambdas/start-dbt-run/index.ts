import { dbtCloudTransformerFromEnvironment, dbtRunTimeoutSeconds } from "../shared/dbt-run.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createStartDbtRunHandler } from "./handler.ts";

// Logger, Tracer (which also traces the fetch calls of dbt Cloud's client) and Metrics, once per container.
const powertools = createPowertools("start-dbt-run");
const { logger } = powertools;
const startDbtRun = createStartDbtRunHandler({
  transformer: dbtCloudTransformerFromEnvironment(),
  timeoutSeconds: dbtRunTimeoutSeconds(),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const state = await startDbtRun(event);
  logger.info("dbt run", { runId: state.runId, runUrl: state.runUrl, status: state.status, timedOut: state.timedOut });
  return state;
});
