import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { packTrainedModel, trainedModelMetadata } from "../../../core/model/artifact.ts";
import { selectBackend } from "../../../core/model/backend.ts";
import { loadModelRecommender } from "../../../core/model/load.ts";
import { loadModelForScoring } from "../../../core/model/parallel-model.ts";
import { SessionRecommender } from "../../../core/model/session-recommender.ts";
import { trainSessionModel } from "../../../core/model/training.ts";
import { chainSessions, SMALL_PARAMETERS } from "./fixture.ts";

const store = new FileSystemArtifactStore();
let folder: string;
let uri: string;

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  folder = await mkdtemp(join(tmpdir(), "pms-parallel-test-"));
  uri = join(folder, "model.tar.gz");
  const trained = await trainSessionModel(chainSessions(200, 60, 1), chainSessions(40, 60, 2), {
    ...SMALL_PARAMETERS,
    epochs: 2,
  });
  const metadata = trainedModelMetadata(trained, {
    runId: "parallel-test",
    hyperparameters: SMALL_PARAMETERS,
    trainedOn: "wasm",
  });
  await store.put(uri, await packTrainedModel(trained, metadata));
  trained.model.dispose();
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("loadModelForScoring", () => {
  it("scores across worker threads exactly as the model does in one thread, in the sessions' order", async () => {
    // Prepare: 150 sessions (split over both threads), unknown SKUs and an all-unknown session included.
    const sessions = [...chainSessions(149, 60, 3), ["no-such-sku"]];
    const single = await loadModelRecommender(store, uri);
    const parallel = await loadModelForScoring(store, uri, 2);
    try {
      // Act
      const expected = await single.recommendWithFallback(sessions, 7);
      const actual = await parallel.recommendWithFallback(sessions, 7);

      // Assess
      expect(actual).toEqual(expected);
      expect(actual.fallback.at(-1)).toBe(true);
      expect(parallel.name).toBe(single.name);
      expect(parallel.metadata.runId).toBe("parallel-test");
      expect(parallel.backend).toMatch(/× 2 threads/);
      expect(await parallel.recommend(sessions.slice(0, 5), 3)).toEqual(
        await single.recommend(sessions.slice(0, 5), 3),
      );
    } finally {
      single.dispose();
      parallel.dispose();
    }
  });

  it("fails the batches in flight, naming the cause, when a scoring thread dies", async () => {
    const parallel = await loadModelForScoring(store, uri, 2);
    const batch = parallel.recommendWithFallback(chainSessions(200, 60, 4), 5);
    parallel.dispose();
    await expect(batch).rejects.toThrow(/scoring thread exited/);
  });

  it("loads in this thread when one thread is asked for", async () => {
    const model = await loadModelForScoring(store, uri, 1);
    expect(model).toBeInstanceOf(SessionRecommender);
    model.dispose();
  });

  it("fails with the archive's problem when the threads cannot load it", async () => {
    const broken = join(folder, "broken.tar.gz");
    await writeFile(broken, "not a tar archive");
    await expect(loadModelForScoring(store, broken, 2)).rejects.toThrow(/not a readable model\.tar\.gz/);
  });
});
