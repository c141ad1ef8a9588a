import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { extractDependenciesFromEnvironment } from "../start-extract/environment.ts";
import { createCheckExtractHandler } from "./handler.ts";

const logger = new Logger({ serviceName: "check-extract" });
new Tracer({ serviceName: "check-extract" });
const checkExtract = createCheckExtractHandler(extractDependenciesFromEnvironment());

export const handler = async (event: unknown) => {
  const state = await checkExtract(event);
  logger.info("extract", {
    queryId: state.queryId,
    status: state.status,
    ...(state.manifest
      ? { sessions: state.manifest.splits.train.sessions, contentHash: state.manifest.contentHash }
      : {}),
  });
  return state;
};
