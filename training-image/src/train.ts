import { readSessions } from "../../core/data/session-parquet.ts";
import { codeVersion, packTrainedModel, trainedModelMetadata } from "../../core/model/artifact.ts";
import { type BackendInfo, selectBackend } from "../../core/model/backend.ts";
import { parseTrainingParameters } from "../../core/model/parameters.ts";
import { trainSessionModel } from "../../core/model/training.ts";
import type { TrainingMetrics } from "../../core/model/training-metrics.ts";
import type { DataManifest } from "../../core/pipeline/contracts.ts";
import type { ArtifactStore } from "../../core/ports/artifact-store.ts";

/**
 * The `train` command: Parquet sessions in (S3 or a local path), `model.tar.gz` and
 * `training-metrics.json` out. Nothing is written until training has completed; the metrics go
 * first and the model last, so a model at its final key always has its metrics beside it.
 */
export interface TrainOptions {
  readonly runId: string;
  readonly trainData: string;
  /**
   * The test split's prefix when training the served model: its sessions join the training data.
   * The validation sample still drives early stopping and the blend weight, exactly as for the
   * evaluated model, so both are chosen on sessions the GRU never learned from.
   */
  readonly testData?: string;
  readonly validationData: string;
  readonly manifest?: string;
  readonly modelOutput: string;
  readonly metricsOutput: string;
  /** JSON object of hyper-parameters (any subset; defaults fill the rest). */
  readonly hyperparameters?: string;
}

export interface TrainDependencies {
  readonly store: ArtifactStore;
  /** Progress and status lines (`epoch 3/10 …`, read by the local twin's progress bar). */
  readonly log?: (line: string) => void;
  /** @default selectBackend() */
  readonly backend?: () => Promise<BackendInfo>;
}

export class TrainingInputError extends Error {
  override readonly name = "TrainingInputError";
}

async function readManifestHash(store: ArtifactStore, uri: string | undefined): Promise<string | null> {
  if (!uri) return null;
  let manifest: Partial<DataManifest>;
  try {
    manifest = JSON.parse(await store.getText(uri)) as Partial<DataManifest>;
  } catch (error) {
    throw new TrainingInputError(`--manifest ${uri} could not be read as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof manifest.contentHash !== "string") {
    throw new TrainingInputError(`--manifest ${uri} has no "contentHash" string`);
  }
  return manifest.contentHash;
}

const format = (value: number, digits = 4) => value.toFixed(digits);

export async function runTraining(options: TrainOptions, dependencies: TrainDependencies): Promise<TrainingMetrics> {
  const log = dependencies.log ?? ((line: string) => console.log(line));
  const parameters = parseTrainingParameters(options.hyperparameters);
  const started = performance.now();
  const backend = await (dependencies.backend ?? (() => selectBackend({ log })))();
  const dataManifestHash = await readManifestHash(dependencies.store, options.manifest);
  const trainSplit = await readSessions(dependencies.store, options.trainData);
  const testSplit = options.testData === undefined ? [] : await readSessions(dependencies.store, options.testData);
  const train = [...trainSplit, ...testSplit];
  const validation = await readSessions(dependencies.store, options.validationData);
  log(
    `data: ${train.length} training sessions${options.testData === undefined ? "" : ` (${trainSplit.length} train + ${testSplit.length} test: the served model)`}, ${validation.length} validation sessions; hyper-parameters ${JSON.stringify(parameters)}`,
  );
  const result = await trainSessionModel(train, validation, parameters, {
    onProgress: (progress) =>
      log(
        `epoch ${progress.epoch}/${progress.epochs} batch ${progress.batch}/${progress.batches} loss ${format(progress.loss)} samples/s ${Math.round(progress.samplesPerSecond)} eta ${Math.round(progress.etaSeconds)}s`,
      ),
    onEpochEnd: (epoch) =>
      log(
        `epoch ${epoch.epoch}/${parameters.epochs} done loss ${format(epoch.loss)} hr@20 ${format(epoch.validation["hr@20"])} mrr@20 ${format(epoch.validation["mrr@20"])} ${epoch.seconds.toFixed(1)}s ${Math.round(epoch.samplesPerSecond)} samples/s`,
      ),
  });
  const version = codeVersion();
  const completedAt = new Date().toISOString();
  const metadata = trainedModelMetadata(result, {
    runId: options.runId,
    hyperparameters: parameters,
    dataManifestHash,
    codeVersion: version,
    trainedOn: backend.backend,
    createdAt: completedAt,
  });
  const archive = await packTrainedModel(result, metadata);
  const seconds = (performance.now() - started) / 1000;
  const metrics: TrainingMetrics = {
    runId: options.runId,
    backend: backend.backend,
    device: backend.device,
    hyperparameters: parameters,
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    validation: result.validation,
    blend: result.blend,
    totals: {
      seconds,
      trainingSeconds: result.trainingSeconds,
      samples: result.samples,
      samplesPerSecond: result.samples / Math.max(result.trainingSeconds, 1e-9),
      trainingSessions: train.length,
      validationSessions: validation.length,
      vocabularySize: result.vocabulary.size,
      parameters: result.parameters,
    },
    dataManifestHash,
    codeVersion: version,
    trainedOnSplits: options.testData === undefined ? ["train"] : ["train", "test"],
    completedAt,
  };
  result.model.dispose();
  await dependencies.store.put(options.metricsOutput, `${JSON.stringify(metrics, null, 2)}\n`, {
    contentType: "application/json",
  });
  await dependencies.store.put(options.modelOutput, archive, { contentType: "application/gzip" });
  log(
    `trained: best epoch ${result.bestEpoch}; validation hr@20 ${format(result.validation["hr@20"])} mrr@20 ${format(result.validation["mrr@20"])} (GRU alone ${format(result.blend.gru["hr@20"])} / ${format(result.blend.gru["mrr@20"])}, kNN weight ${result.blend.weight}); ${seconds.toFixed(1)}s on ${backend.backend}; model written to ${options.modelOutput}`,
  );
  return metrics;
}
