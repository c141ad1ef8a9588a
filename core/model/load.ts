import type { TrainingParameters } from "../pipeline/execution-input.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { loadModelFolder, type ModelBundle, unpackModelArchive } from "./artifact.ts";
import { ensureBackend } from "./backend.ts";
import type { Recommender } from "./recommender.ts";
import { SessionRecommender } from "./session-recommender.ts";
import * as tf from "./tf.ts";
import type { BlendValidation, ValidationMetrics } from "./training-metrics.ts";

/** What `model.tar.gz` says about itself (`metadata.json` in the archive). */
export interface ModelMetadata {
  readonly runId: string;
  readonly hyperparameters: TrainingParameters;
  /** Validation figures of the model as served (the blend when there are neighbours). */
  readonly validation: ValidationMetrics;
  /** The blend weight and the GRU's own validation figures; absent before the hybrid. */
  readonly blend?: BlendValidation;
  readonly dataManifestHash: string | null;
  readonly codeVersion: string;
  /** The backend that trained the model. */
  readonly trainedOn: string;
  readonly createdAt: string;
  readonly vocabularySize: number;
}

/** A trained model ready to recommend, as evaluation and serving use it. */
export interface LoadedModel extends Recommender {
  readonly metadata: ModelMetadata;
  /** The backend this process runs inference on. */
  readonly backend: string;
  /**
   * Like `recommend`, and also says per session whether no item was known (popular items were
   * returned instead) — the serving contract's `fallback` flag.
   */
  recommendWithFallback(
    sessions: readonly (readonly string[])[],
    k: number,
  ): Promise<{ recommendations: Recommendation[][]; fallback: boolean[] }>;
  /** Releases the model's tensors. */
  dispose(): void;
}

/**
 * Loads a trained model from `model.tar.gz` (any URI the store reads: `s3://…`, a path, `file://`)
 * or from an already extracted folder (a URI ending in `/`, e.g. SageMaker's `/opt/ml/model/`).
 * Runs on the backend `selectBackend` chose, or selects the default one (tensorflow, wasm, cpu).
 */
export async function loadModelRecommender(
  store: ArtifactStore,
  modelUri: string,
  options: RecommenderOptions = {},
): Promise<LoadedModel> {
  await ensureBackend();
  const bundle = modelUri.endsWith("/")
    ? await loadModelFolder(store, modelUri)
    : await unpackModelArchive(await store.get(modelUri), modelUri);
  return recommenderOf(bundle, options);
}

export interface RecommenderOptions {
  /**
   * Blend in the session-kNN when the archive has one. Off, the GRU ranks alone: how the served
   * model is compared with the evaluated one on sessions that sit in both neighbour indexes.
   * @default true
   */
  readonly withNeighbours?: boolean;
}

/** The recommender over an unpacked bundle, on the current backend. */
export function recommenderOf(bundle: ModelBundle, options: RecommenderOptions = {}): SessionRecommender {
  return new SessionRecommender(
    bundle.model,
    bundle.vocabulary,
    bundle.popular,
    bundle.metadata,
    tf.getBackend(),
    options.withNeighbours === false ? undefined : bundle.neighbours,
  );
}
