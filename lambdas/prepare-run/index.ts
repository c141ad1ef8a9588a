import { Logger } from "@aws-lambda-powertools/logger";
import { requireEnv } from "../shared/env.ts";
import { createPrepareRunHandler, parseRunDefaults } from "./handler.ts";

const logger = new Logger({ serviceName: "prepare-run" });
// Parsed at cold start: a function deployed with bad defaults fails on its first call, naming the field.
const prepareRun = createPrepareRunHandler({ defaults: parseRunDefaults(requireEnv("PMS_RUN_DEFAULTS")) });

export const handler = async (event: unknown) => {
  const run = await prepareRun(event);
  logger.info("Run prepared", { runId: run.runId, window: run.window, deploy: run.deploy, trigger: run.trigger });
  return run;
};
