import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { dbtCloudTransformerFromEnvironment } from "../shared/dbt-run.ts";
import { createCancelDbtRunHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "cancel-dbt-run" });
// Traces the dbt Cloud calls (Tracer captures fetch) when the function has active tracing.
new Tracer({ serviceName: "cancel-dbt-run" });
const cancelDbtRun = createCancelDbtRunHandler({ transformer: dbtCloudTransformerFromEnvironment() });

export const handler = async (event: unknown) => {
  const state = await cancelDbtRun(event);
  logger.info("dbt run", { runId: state.runId, runUrl: state.runUrl, status: state.status, timedOut: state.timedOut });
  return state;
};
