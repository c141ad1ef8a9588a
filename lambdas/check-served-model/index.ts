import { S3Client } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "../../core/artifacts/s3.ts";
import { createPowertools, instrumentHandler } from "../shared/powertools.ts";
import { createCheckServedModelHandler, loadGruAlone } from "./handler.ts";

// Logger, Tracer and Metrics, once per container.
const powertools = createPowertools("check-served-model");
const { logger, tracer } = powertools;
const checkServedModel = createCheckServedModelHandler({
  store: new S3ArtifactStore(tracer.captureAWSv3Client(new S3Client({}))),
  loadModel: loadGruAlone,
  log: (message, fields) => logger.info(message, { ...fields }),
});

export const handler = instrumentHandler(powertools, async (event: unknown) => checkServedModel(event));
