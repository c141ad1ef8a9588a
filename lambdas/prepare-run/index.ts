import { requireEnv } from "../shared/env.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createPrepareRunHandler, parseRunDefaults } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("prepare-run");
const { logger } = powertools;
// Parsed at cold start: a function deployed with bad defaults fails on its first call, naming the field.
const prepareRun = createPrepareRunHandler({ defaults: parseRunDefaults(requireEnv("PMS_RUN_DEFAULTS")) });

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const run = await prepareRun(event);
  logger.info("Run prepared", { runId: run.runId, window: run.window, deploy: run.deploy, trigger: run.trigger });
  return run;
});
