import { Logger } from "@aws-lambda-powertools/logger";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { S3Client } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "../../core/artifacts/s3.ts";
import { createCheckServedModelHandler, loadGruAlone } from "./handler.ts";

const logger = new Logger({ serviceName: "check-served-model" });
const tracer = new Tracer({ serviceName: "check-served-model" });
const checkServedModel = createCheckServedModelHandler({
  store: new S3ArtifactStore(tracer.captureAWSv3Client(new S3Client({}))),
  loadModel: loadGruAlone,
  log: (message, fields) => logger.info(message, { ...fields }),
});

export const handler = async (event: unknown) => checkServedModel(event);
