#!/usr/bin/env node
/**
 * The training image's entry point: `train` (AWS Batch, or the local twin's child process) and
 * `serve` (SageMaker, or the local twin's endpoint). Only wiring: parsing, adapters, signals.
 */
import cluster from "node:cluster";
import { S3Client } from "@aws-sdk/client-s3";
import { Command, InvalidArgumentError } from "commander";
import { RoutingArtifactStore } from "../../core/artifacts/index.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { loadModelRecommender } from "../../core/model/load.ts";
import { TRAINING_FLAGS } from "../../core/pipeline/run-context.ts";
import { servingWorkers, startServer } from "./serve.ts";
import { runTraining } from "./train.ts";

const store = new RoutingArtifactStore(() => new S3Client({}));

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError("must be a port number between 0 and 65535");
  }
  return parsed;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return parsed;
}

/** Forks the serving workers; SIGTERM is passed on and the primary exits once all have drained. */
function superviseWorkers(count: number): void {
  let stopping = false;
  for (let index = 0; index < count; index++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(`serving worker ${worker.process.pid} exited with code ${code}; stopping`);
    process.exit(1);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

const program = new Command("pms-training-image")
  .description("Train and serve the session-based next-item recommender")
  .showHelpAfterError();

program
  .command("train")
  .description("Train on the run's Parquet sessions and write model.tar.gz and training-metrics.json")
  .requiredOption(`${TRAINING_FLAGS.runId} <id>`, "the pipeline run id")
  .requiredOption(`${TRAINING_FLAGS.trainData} <uri>`, "prefix of the training split's Parquet (s3:// or path)")
  .requiredOption(`${TRAINING_FLAGS.validationData} <uri>`, "prefix of the validation split's Parquet")
  .option(
    TRAINING_FLAGS.refit,
    `train the served model: the test split (${TRAINING_FLAGS.testData}) joins the training data`,
    false,
  )
  .option(`${TRAINING_FLAGS.testData} <uri>`, `prefix of the test split's Parquet (with ${TRAINING_FLAGS.refit})`)
  .option(`${TRAINING_FLAGS.manifest} <uri>`, "the extract's data manifest (its content hash goes into the model)")
  .requiredOption(`${TRAINING_FLAGS.modelOutput} <uri>`, "where model.tar.gz goes")
  .requiredOption(`${TRAINING_FLAGS.metricsOutput} <uri>`, "where training-metrics.json goes")
  .option(
    `${TRAINING_FLAGS.hyperparameters} <json>`,
    "hyper-parameters as a JSON object (any subset; defaults fill the rest)",
    process.env.PMS_HYPERPARAMETERS,
  )
  .action(async (options: Record<string, string | boolean | undefined>) => {
    if (options.refit === true && typeof options.testData !== "string")
      throw new InvalidArgumentError(
        `${TRAINING_FLAGS.refit} trains on the test split too: give its Parquet prefix with ${TRAINING_FLAGS.testData} <uri>`,
      );
    if (options.refit !== true && typeof options.testData === "string")
      throw new InvalidArgumentError(
        `${TRAINING_FLAGS.testData} is only read with ${TRAINING_FLAGS.refit}: the evaluated model must not learn from the test split`,
      );
    await runTraining(
      {
        runId: options.runId as string,
        trainData: options.trainData as string,
        ...(options.refit === true ? { testData: options.testData as string } : {}),
        validationData: options.validationData as string,
        manifest: options.manifest as string | undefined,
        modelOutput: options.modelOutput as string,
        metricsOutput: options.metricsOutput as string,
        hyperparameters: options.hyperparameters as string | undefined,
      },
      { store },
    );
  });

program
  .command("serve")
  .description("Serve the model over the SageMaker inference contract (GET /ping, POST /invocations)")
  .option("--model <uri>", "model.tar.gz (path, file:// or s3:// URI)")
  // SageMaker extracts the model's ModelDataUrl into /opt/ml/model; PMS_MODEL_DIR moves it for runs outside a container.
  .option("--model-dir <dir>", "an extracted model folder", process.env.PMS_MODEL_DIR ?? "/opt/ml/model")
  .option("--port <port>", "port to listen on", port, Number(process.env.SAGEMAKER_BIND_TO_PORT ?? 8080))
  .option("--host <host>", "address to bind", "0.0.0.0")
  .option(
    "--workers <n>",
    "server processes sharing the port (default: PMS_SERVE_WORKERS, else one per CPU)",
    positiveInteger,
  )
  .action(async (options: { model?: string; modelDir: string; port: number; host: string; workers?: number }) => {
    const workers = options.workers ?? servingWorkers(process.env);
    if (workers > 1 && cluster.isPrimary) {
      console.log(`starting ${workers} serving processes`);
      superviseWorkers(workers);
      return;
    }
    await selectBackend({ requireGpu: false });
    const modelUri = options.model ?? (options.modelDir.endsWith("/") ? options.modelDir : `${options.modelDir}/`);
    const model = await loadModelRecommender(store, modelUri);
    const server = await startServer({ model, port: options.port, host: options.host });
    const stop = (signal: string) => {
      console.log(`${signal}: no new requests; finishing the ones in flight`);
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const named = error as Error;
  console.error(`${named.name ?? "Error"}: ${named.message ?? String(error)}`);
  process.exit(1);
});
