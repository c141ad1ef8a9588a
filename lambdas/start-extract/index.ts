import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { extractDependenciesFromEnvironment } from "./environment.ts";
import { createStartExtractHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "start-extract" });
new Tracer({ serviceName: "start-extract" });
const startExtract = createStartExtractHandler(extractDependenciesFromEnvironment());

export const handler = async (event: unknown) => {
  const state = await startExtract(event);
  logger.info("unload started", { queryId: state.queryId, manifestUri: state.manifestUri });
  return state;
};
