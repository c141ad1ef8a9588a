import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { extractDependenciesFromEnvironment } from "../start-extract/environment.ts";
import { createCheckExtractHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("check-extract");
const { logger } = powertools;
const checkExtract = createCheckExtractHandler(extractDependenciesFromEnvironment());

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const state = await checkExtract(event);
  logger.info("extract", {
    queryId: state.queryId,
    status: state.status,
    ...(state.manifest
      ? { sessions: state.manifest.splits.train.sessions, contentHash: state.manifest.contentHash }
      : {}),
  });
  return state;
});
