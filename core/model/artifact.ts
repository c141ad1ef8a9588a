import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { FileSystemArtifactStore } from "../artifacts/filesystem.ts";
import { SKNN_WEIGHTINGS } from "../baselines/sknn.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import type { Recommendation } from "../ports/model-host.ts";
import {
  type ModelConfig,
  SessionModel,
  uniqueVariableName,
  WEIGHT_NAMES,
  type WeightName,
  weightShapes,
} from "./gru4rec.ts";
import { ArtifactStoreIOHandler, MODEL_JSON, WEIGHTS_BIN } from "./io-handler.ts";
import type { ModelMetadata } from "./load.ts";
import { type NeighbourSettings, SessionNeighbours } from "./neighbours.ts";
import * as tf from "./tf.ts";
import type { TrainingResult } from "./training.ts";
import { ItemVocabulary, type VocabularyJson } from "./vocabulary.ts";

/**
 * `model.tar.gz` as SageMaker extracts it into /opt/ml/model:
 *
 *   model.json       TF.js model JSON: the architecture config (modelTopology) and weights manifest
 *   weights.bin      float32 weights
 *   vocabulary.json  SKUs by model index and their training counts
 *   popular.json     the fallback for sessions with no known item (top 100 by count)
 *   metadata.json    ModelMetadata: run, hyper-parameters, validation metrics, data hash, code version
 *   neighbours.json  the session-kNN's settings and blend weight (NeighbourSettings)
 *   neighbours.bin   the sessions it searches: int32 CSR of vocabulary indices, oldest first
 *
 * An archive without the two neighbours files (written before the hybrid) serves the GRU alone.
 */
const NEIGHBOURS_JSON = "neighbours.json";
const NEIGHBOURS_BIN = "neighbours.bin";
export const ARCHIVE_FILES = [
  MODEL_JSON,
  WEIGHTS_BIN,
  "vocabulary.json",
  "popular.json",
  "metadata.json",
  NEIGHBOURS_JSON,
  NEIGHBOURS_BIN,
] as const;
export const MODEL_FORMAT = "pms-session-gru";
export const POPULAR_FALLBACK_SIZE = 100;

export class ModelArtifactError extends Error {
  override readonly name = "ModelArtifactError";
}

export interface ModelBundle {
  readonly model: SessionModel;
  readonly vocabulary: ItemVocabulary;
  readonly popular: readonly Recommendation[];
  readonly metadata: ModelMetadata;
  /** The kNN half of the hybrid; absent in archives written before it (they serve the GRU alone). */
  readonly neighbours?: SessionNeighbours;
}

/** The build's code version: `PMS_CODE_VERSION` (set at image build), else the git commit, else "unknown". */
export function codeVersion(): string {
  if (process.env.PMS_CODE_VERSION) return process.env.PMS_CODE_VERSION;
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
}

/** Writes the bundle's files into a folder of any store (the IOHandler writes model.json + weights.bin). */
export async function saveModelFolder(store: ArtifactStore, folderUri: string, bundle: ModelBundle): Promise<void> {
  const folder = folderUri.endsWith("/") ? folderUri : `${folderUri}/`;
  const { data, specs } = await tf.io.encodeWeights(
    Object.fromEntries(WEIGHT_NAMES.map((name) => [name, bundle.model.weights[name]])),
  );
  await store.put(`${folder}vocabulary.json`, JSON.stringify(bundle.vocabulary.toJSON()));
  await store.put(`${folder}popular.json`, JSON.stringify(bundle.popular));
  await store.put(`${folder}metadata.json`, JSON.stringify(bundle.metadata, null, 2));
  if (bundle.neighbours) {
    await store.put(`${folder}${NEIGHBOURS_BIN}`, bundle.neighbours.toBinary(), {
      contentType: "application/octet-stream",
    });
    await store.put(`${folder}${NEIGHBOURS_JSON}`, JSON.stringify(bundle.neighbours.settings));
  }
  await new ArtifactStoreIOHandler(store, folder).save({
    modelTopology: { class_name: "SessionGRU", config: bundle.model.config },
    format: MODEL_FORMAT,
    generatedBy: `TensorFlow.js v${tf.version_core}`,
    weightSpecs: specs,
    weightData: data,
  });
}

/** A bundle to pack; the popularity fallback defaults to the vocabulary's most frequent items. */
export type ModelBundleToPack = Omit<ModelBundle, "popular"> & { readonly popular?: readonly Recommendation[] };

/** model.tar.gz bytes for the bundle. */
export async function packModelArchive(toPack: ModelBundleToPack): Promise<Uint8Array> {
  const bundle: ModelBundle = {
    ...toPack,
    popular: toPack.popular ?? toPack.vocabulary.popular(POPULAR_FALLBACK_SIZE),
  };
  const folder = await mkdtemp(join(tmpdir(), "pms-model-"));
  try {
    await saveModelFolder(new FileSystemArtifactStore(), `${folder}/content/`, bundle);
    const archive = join(folder, "model.tar.gz");
    const files = ARCHIVE_FILES.filter(
      (file) => bundle.neighbours || (file !== NEIGHBOURS_JSON && file !== NEIGHBOURS_BIN),
    );
    await tar.create({ gzip: true, file: archive, cwd: join(folder, "content"), portable: true }, files);
    return new Uint8Array(await readFile(archive));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** What a training run's metadata says beyond the result itself. */
export interface TrainedModelRun {
  readonly runId: string;
  readonly hyperparameters: ModelMetadata["hyperparameters"];
  readonly trainedOn: string;
  /** @default codeVersion() */
  readonly codeVersion?: string;
  /** @default null */
  readonly dataManifestHash?: string | null;
  /** @default now */
  readonly createdAt?: string;
}

/** The metadata of a finished training run: its validation and blend figures, and the run's facts. */
export function trainedModelMetadata(result: TrainingResult, run: TrainedModelRun): ModelMetadata {
  return {
    runId: run.runId,
    hyperparameters: run.hyperparameters,
    validation: result.validation,
    blend: result.blend,
    dataManifestHash: run.dataManifestHash ?? null,
    codeVersion: run.codeVersion ?? codeVersion(),
    trainedOn: run.trainedOn,
    createdAt: run.createdAt ?? new Date().toISOString(),
    vocabularySize: result.vocabulary.size,
  };
}

/** model.tar.gz of a finished training run: the GRU and its neighbours, as the model is served. */
export function packTrainedModel(result: TrainingResult, metadata: ModelMetadata): Promise<Uint8Array> {
  return packModelArchive({
    model: result.model,
    vocabulary: result.vocabulary,
    neighbours: result.neighbours,
    metadata,
  });
}

function readConfig(topology: unknown, source: string): ModelConfig {
  const config = (topology as { config?: Partial<ModelConfig> } | undefined)?.config;
  const fields = ["vocabularySize", "embeddingDim", "hiddenDim", "maxLength"] as const;
  if (!config || fields.some((field) => !Number.isInteger(config[field]))) {
    throw new ModelArtifactError(`${source}: model.json modelTopology.config must hold ${fields.join(", ")}`);
  }
  return config as ModelConfig;
}

/** Reads a model folder (as extracted from model.tar.gz) from any store. */
export async function loadModelFolder(store: ArtifactStore, folderUri: string): Promise<ModelBundle> {
  const folder = folderUri.endsWith("/") ? folderUri : `${folderUri}/`;
  const artifacts = await new ArtifactStoreIOHandler(store, folder).load();
  if (artifacts.format !== MODEL_FORMAT) {
    throw new ModelArtifactError(`${folder}${MODEL_JSON}: format "${artifacts.format}" is not "${MODEL_FORMAT}"`);
  }
  const config = readConfig(artifacts.modelTopology, `${folder}${MODEL_JSON}`);
  const decoded = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), artifacts.weightSpecs ?? []);
  const shapes = weightShapes(config);
  const weights = {} as Record<WeightName, tf.Variable>;
  for (const name of WEIGHT_NAMES) {
    const tensor = decoded[name];
    const expected = shapes[name];
    if (!tensor || tensor.shape.join("x") !== expected.join("x")) {
      throw new ModelArtifactError(
        `${folder}${WEIGHTS_BIN}: weight ${name} has shape [${tensor?.shape.join(", ") ?? "missing"}], expected [${expected.join(", ")}]`,
      );
    }
    weights[name] = tf.variable(tensor, false, uniqueVariableName(name));
    tensor.dispose();
  }
  const vocabulary = ItemVocabulary.fromJSON(
    JSON.parse(await store.getText(`${folder}vocabulary.json`)) as VocabularyJson,
  );
  if (vocabulary.size !== config.vocabularySize) {
    throw new ModelArtifactError(
      `${folder}vocabulary.json has ${vocabulary.size} items but the model was built for ${config.vocabularySize}`,
    );
  }
  const popular = JSON.parse(await store.getText(`${folder}popular.json`)) as Recommendation[];
  const metadata = JSON.parse(await store.getText(`${folder}metadata.json`)) as ModelMetadata;
  const neighbours = await loadNeighbours(store, folder, vocabulary);
  return { model: new SessionModel(config, weights), vocabulary, popular, metadata, neighbours };
}

async function loadNeighbours(
  store: ArtifactStore,
  folder: string,
  vocabulary: ItemVocabulary,
): Promise<SessionNeighbours | undefined> {
  if (!(await store.exists(`${folder}${NEIGHBOURS_JSON}`))) return undefined;
  const settings = JSON.parse(await store.getText(`${folder}${NEIGHBOURS_JSON}`)) as Partial<NeighbourSettings>;
  const fields = ["weight", "neighbours", "sampleSize"] as const;
  if (fields.some((field) => typeof settings[field] !== "number")) {
    throw new ModelArtifactError(`${folder}${NEIGHBOURS_JSON} must hold numbers ${fields.join(", ")}`);
  }
  // Absent in archives written before them: those neighbours score as plain V-SkNN.
  for (const field of SKNN_WEIGHTINGS) {
    const value = settings[field];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
      throw new ModelArtifactError(
        `${folder}${NEIGHBOURS_JSON}: ${field} must be a positive number or absent, got ${JSON.stringify(value)}`,
      );
    }
  }
  try {
    return SessionNeighbours.fromBinary(
      await store.get(`${folder}${NEIGHBOURS_BIN}`),
      settings as NeighbourSettings,
      vocabulary,
    );
  } catch (error) {
    throw new ModelArtifactError(`${folder}${NEIGHBOURS_BIN}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads `model.tar.gz` bytes. */
export async function unpackModelArchive(bytes: Uint8Array, source: string): Promise<ModelBundle> {
  const folder = await mkdtemp(join(tmpdir(), "pms-model-"));
  try {
    const archive = join(folder, "model.tar.gz");
    await new FileSystemArtifactStore().put(archive, bytes);
    try {
      await tar.extract({ file: archive, cwd: folder, strict: true });
    } catch (error) {
      throw new ModelArtifactError(`${source} is not a readable model.tar.gz: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return await loadModelFolder(new FileSystemArtifactStore(), `${folder}/`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
