import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { dbtCloudTransformerFromEnvironment, dbtRunTimeoutSeconds } from "../shared/dbt-run.ts";
import { createCheckDbtRunHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "check-dbt-run" });
// Traces the dbt Cloud calls (Tracer captures fetch) when the function has active tracing.
new Tracer({ serviceName: "check-dbt-run" });
const checkDbtRun = createCheckDbtRunHandler({
  transformer: dbtCloudTransformerFromEnvironment(),
  timeoutSeconds: dbtRunTimeoutSeconds(),
});

export const handler = async (event: unknown) => {
  const state = await checkDbtRun(event);
  logger.info("dbt run", { runId: state.runId, runUrl: state.runUrl, status: state.status, timedOut: state.timedOut });
  return state;
};
