import { dbtCloudTransformerFromEnvironment } from "../shared/dbt-run.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createCancelDbtRunHandler } from "./handler.ts";

// Logger, Tracer (which also traces the fetch calls of dbt Cloud's client) and Metrics, once per container.
const powertools = createPowertools("cancel-dbt-run");
const { logger } = powertools;
const cancelDbtRun = createCancelDbtRunHandler({ transformer: dbtCloudTransformerFromEnvironment() });

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const state = await cancelDbtRun(event);
  logger.info("dbt run", { runId: state.runId, runUrl: state.runUrl, status: state.status, timedOut: state.timedOut });
  return state;
});
