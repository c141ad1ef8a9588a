import { Logger } from "@aws-lambda-powertools/logger";
import { z } from "zod";
import { RunDefaultsSchema } from "../../core/pipeline/run-context.ts";
import { requireEnv } from "../shared/env.ts";
import { createPrepareRunHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "prepare-run" });

class InvalidRunDefaultsError extends Error {
  override readonly name = "InvalidRunDefaults";
}

/** Parsed at cold start: a function deployed with bad defaults fails on its first call, naming the field. */
function runDefaultsFromEnvironment() {
  const raw = requireEnv("PMS_RUN_DEFAULTS");
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new InvalidRunDefaultsError(
      "PMS_RUN_DEFAULTS is not JSON: the stack writes it from the deploy configuration; redeploy",
      {
        cause: error,
      },
    );
  }
  const parsed = RunDefaultsSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidRunDefaultsError(
      `PMS_RUN_DEFAULTS is not a valid RunDefaults:\n${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  return parsed.data;
}

const prepareRun = createPrepareRunHandler({ defaults: runDefaultsFromEnvironment() });

export const handler = async (event: unknown) => {
  const run = await prepareRun(event);
  logger.info("Run prepared", { runId: run.runId, window: run.window, deploy: run.deploy, trigger: run.trigger });
  return run;
};
