import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { extractDependenciesFromEnvironment } from "./environment.ts";
import { createStartExtractHandler } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("start-extract");
const { logger } = powertools;
const startExtract = createStartExtractHandler(extractDependenciesFromEnvironment());

export const handler = instrumentHandler(powertools, async (event: unknown) => {
  const state = await startExtract(event);
  logger.info("unload started", { queryId: state.queryId, manifestUri: state.manifestUri });
  return state;
});
