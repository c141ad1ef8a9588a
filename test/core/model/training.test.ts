import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { scoreRecommender, testPoints } from "../../../core/evaluation/metrics.ts";
import { type ModelBundleToPack, POPULAR_FALLBACK_SIZE, packModelArchive } from "../../../core/model/artifact.ts";
import { selectBackend } from "../../../core/model/backend.ts";
import { type LoadedModel, loadModelRecommender, type ModelMetadata } from "../../../core/model/load.ts";
import {
  BLEND_WEIGHTS,
  NEIGHBOUR_DEFAULTS,
  type NeighbourSettings,
  SessionNeighbours,
} from "../../../core/model/neighbours.ts";
import { SessionRecommender } from "../../../core/model/session-recommender.ts";
import { type TrainingResult, trainSessionModel } from "../../../core/model/training.ts";
import { chainSessions, SMALL_PARAMETERS } from "./fixture.ts";

const train = chainSessions(400, 120, 1);
const validation = chainSessions(60, 120, 2);
const holdout = chainSessions(100, 120, 3);
let trained: TrainingResult;
let recommender: SessionRecommender;

function metadataOf(result: TrainingResult): ModelMetadata {
  return {
    runId: "test-run",
    hyperparameters: SMALL_PARAMETERS,
    validation: result.validation,
    blend: result.blend,
    dataManifestHash: "abc",
    codeVersion: "test",
    trainedOn: "wasm",
    createdAt: "2026-01-01T00:00:00.000Z",
    vocabularySize: result.vocabulary.size,
  };
}

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  const epochs: number[] = [];
  trained = await trainSessionModel(train, validation, SMALL_PARAMETERS, {
    onEpochEnd: (metrics) => epochs.push(metrics.epoch),
  });
  recommender = new SessionRecommender(
    trained.model,
    trained.vocabulary,
    trained.vocabulary.popular(POPULAR_FALLBACK_SIZE),
    metadataOf(trained),
    "wasm",
    trained.neighbours,
  );
});

describe("trainSessionModel", () => {
  it("learns the fixture's transitions: beats popularity on the hold-out by a wide margin", async () => {
    const points = testPoints(holdout, { maxPrefixLength: SMALL_PARAMETERS.maxLength });
    const itemCounts = new Map(trained.vocabulary.items.map((sku, i) => [sku, trained.vocabulary.counts[i] ?? 0]));
    const model = await scoreRecommender(recommender, points, { itemCounts });
    const popularity = await scoreRecommender(PopularityRecommender.fromSessions(train), points, { itemCounts });
    const metric = (scored: { metrics: Record<string, number> }, key: string) => scored.metrics[key] ?? Number.NaN;
    expect(metric(popularity, "hr@20")).toBeLessThan(0.35);
    expect(metric(model, "hr@20")).toBeGreaterThan(metric(popularity, "hr@20") + 0.4);
    expect(metric(model, "mrr@20")).toBeGreaterThan(metric(popularity, "mrr@20") + 0.3);
  });

  it("reports per-epoch loss and validation metrics, keeping the best epoch", () => {
    expect(trained.epochs.length).toBeGreaterThan(1);
    expect(trained.epochs.at(-1)?.loss).toBeLessThan(trained.epochs[0]?.loss ?? 0);
    const best = Math.max(...trained.epochs.map((epoch) => epoch.validation["hr@20"]));
    expect(trained.validation["hr@20"]).toBe(best);
    const targetsPerEpoch = train.reduce((sum, session) => sum + session.length - 1, 0);
    expect(trained.samples).toBe(trained.epochs.length * targetsPerEpoch);
    expect(trained.epochs[0]?.validation.testPoints).toBe(
      validation.reduce((sum, session) => sum + session.length - 1, 0),
    );
  });

  it("tunes the kNN blend on validation and serves neighbours drawn from training and validation sessions", () => {
    expect(BLEND_WEIGHTS).toContain(trained.blend.weight);
    expect(trained.neighbours.settings.weight).toBe(trained.blend.weight);
    expect(trained.validation).toEqual(trained.blend.hybrid);
    // The GRU's figure is the best epoch's, re-measured by the tuner on the same points.
    expect(trained.blend.gru["hr@20"]).toBeCloseTo(trained.epochs[trained.bestEpoch - 1]?.validation["hr@20"] ?? 0, 6);
    const sum = (metrics: { "hr@20": number; "mrr@20": number }) => metrics["hr@20"] + metrics["mrr@20"];
    expect(sum(trained.blend.hybrid)).toBeGreaterThanOrEqual(sum(trained.blend.gru));
    expect(trained.neighbours.sessions).toHaveLength(train.length + validation.length);
  });

  it("is deterministic for a seed", async () => {
    const parameters = { ...SMALL_PARAMETERS, epochs: 1, dropout: 0.2 };
    const first = await trainSessionModel(train.slice(0, 100), [], parameters);
    const second = await trainSessionModel(train.slice(0, 100), [], parameters);
    expect(first.epochs[0]?.loss).toBe(second.epochs[0]?.loss);
    expect(Array.from(first.model.weights.item_embedding.dataSync())).toEqual(
      Array.from(second.model.weights.item_embedding.dataSync()),
    );
    first.model.dispose();
    second.model.dispose();
  });

  it("rejects data with nothing to learn from, naming the setting", async () => {
    await expect(trainSessionModel([["a", "b"]], [], { ...SMALL_PARAMETERS, minItemCount: 5 })).rejects.toThrow(
      /minItemCount=5/,
    );
  });
});

function bundleOf(result: TrainingResult): ModelBundleToPack {
  return { model: result.model, vocabulary: result.vocabulary, metadata: metadataOf(result) };
}

/** Packs the bundle to model.tar.gz in a temporary folder, loads it back and hands it to `use`. */
async function roundTrip(bundle: ModelBundleToPack, use: (loaded: LoadedModel) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), "pms-model-test-"));
  try {
    const store = new FileSystemArtifactStore();
    const uri = join(folder, "model.tar.gz");
    await store.put(uri, await packModelArchive(bundle));
    const loaded = await loadModelRecommender(store, uri);
    await use(loaded);
    loaded.dispose();
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

describe("model.tar.gz", () => {
  it("saves and loads to identical predictions, metadata included", async () => {
    const bundle = {
      model: trained.model,
      vocabulary: trained.vocabulary,
      neighbours: trained.neighbours,
      metadata: metadataOf(trained),
    };
    await roundTrip(bundle, async (loaded) => {
      const sessions = [holdout[0] ?? [], holdout[1] ?? [], ["unknown-sku"], ["sku-1", "unknown-sku", "sku-8"]];
      const before = await recommender.recommendWithFallback(sessions, 15);
      const after = await loaded.recommendWithFallback(sessions, 15);
      expect(after).toEqual(before);
      expect(after.fallback).toEqual([false, false, true, false]);
      expect(after.recommendations[0]).toHaveLength(15);
      expect(loaded.metadata).toEqual(metadataOf(trained));
    });
  });

  it("loads neighbours.json without the similarity weights (written before them) as plain V-SkNN neighbours", async () => {
    // Prepare: the same sessions under the settings such an archive holds, and under today's defaults.
    const recommenderWith = (settings: NeighbourSettings) =>
      new SessionRecommender(
        trained.model,
        trained.vocabulary,
        trained.vocabulary.popular(POPULAR_FALLBACK_SIZE),
        metadataOf(trained),
        "wasm",
        new SessionNeighbours(settings, trained.neighbours.sessions, trained.vocabulary),
      );
    const plain = { weight: 0.5, neighbours: 100, sampleSize: 500 };
    const bundle = {
      model: trained.model,
      vocabulary: trained.vocabulary,
      neighbours: new SessionNeighbours(plain, trained.neighbours.sessions, trained.vocabulary),
      metadata: metadataOf(trained),
    };
    const sessions = holdout.slice(0, 30);

    // Act + Assess
    await roundTrip(bundle, async (loaded) => {
      const served = await loaded.recommend(sessions, 10);
      expect(served).toEqual(await recommenderWith(plain).recommend(sessions, 10));
      expect(served).not.toEqual(await recommenderWith({ ...NEIGHBOUR_DEFAULTS, weight: 0.5 }).recommend(sessions, 10));
    });
  });

  it("keeps the neighbours' similarity weights through the archive", async () => {
    const weighted = {
      weight: 0.5,
      neighbours: 100,
      sampleSize: 500,
      positionDecay: 0.7,
      idfExponent: 2,
      neighbourItemDecay: 0.5,
    };
    const neighbours = new SessionNeighbours(weighted, trained.neighbours.sessions, trained.vocabulary);
    const bundle = { model: trained.model, vocabulary: trained.vocabulary, neighbours, metadata: metadataOf(trained) };
    const direct = new SessionRecommender(
      trained.model,
      trained.vocabulary,
      trained.vocabulary.popular(POPULAR_FALLBACK_SIZE),
      metadataOf(trained),
      "wasm",
      neighbours,
    );
    const sessions = holdout.slice(0, 30);
    await roundTrip(bundle, async (loaded) => {
      expect(await loaded.recommend(sessions, 10)).toEqual(await direct.recommend(sessions, 10));
    });
  });

  it("refuses a neighbours.json whose similarity weight is not a positive number", async () => {
    // The constructor refuses such settings too, so the archive is written through a look-alike.
    const neighbours = {
      settings: { weight: 0.5, neighbours: 100, sampleSize: 500, positionDecay: -1 },
      toBinary: () => trained.neighbours.toBinary(),
    } as unknown as SessionNeighbours;
    const folder = await mkdtemp(join(tmpdir(), "pms-model-test-"));
    try {
      const store = new FileSystemArtifactStore();
      const uri = join(folder, "model.tar.gz");
      await store.put(uri, await packModelArchive({ ...bundleOf(trained), neighbours }));
      await expect(loadModelRecommender(store, uri)).rejects.toThrow(
        /positionDecay must be a positive number or absent/,
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("loads an archive without neighbours (written before the hybrid) as the GRU alone", async () => {
    const bundle = { model: trained.model, vocabulary: trained.vocabulary, metadata: metadataOf(trained) };
    await roundTrip(bundle, async (loaded) => {
      const gruAlone = new SessionRecommender(
        trained.model,
        trained.vocabulary,
        trained.vocabulary.popular(POPULAR_FALLBACK_SIZE),
        metadataOf(trained),
        "wasm",
      );
      const sessions = holdout.slice(0, 20);
      expect(await loaded.recommend(sessions, 10)).toEqual(await gruAlone.recommend(sessions, 10));
    });
  });
});
