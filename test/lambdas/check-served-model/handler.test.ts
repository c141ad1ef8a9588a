import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { PopularityRecommender } from "../../../core/baselines/popularity.ts";
import type { Recommender } from "../../../core/model/recommender.ts";
import { PIPELINE_ERRORS } from "../../../core/pipeline/contracts.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { ArtifactNotFoundError } from "../../../core/ports/artifact-store.ts";
import {
  type CheckServedModelDependencies,
  createCheckServedModelHandler,
  MAX_HIT_RATE_DROP,
} from "../../../lambdas/check-served-model/handler.ts";
import { markovSessions } from "../../core/evaluation/synthetic-sessions.ts";
import { writeSplitSessions } from "../../support/session-splits.ts";

const train = markovSessions(500, { seed: 31 });
const validation = markovSessions(120, { seed: 32 });
const strong = CooccurrenceRecommender.fromSessions(train);
const alsoStrong = CooccurrenceRecommender.fromSessions([...train, ...markovSessions(100, { seed: 33 })]);
const weak = PopularityRecommender.fromSessions(train);

const split = (sessions: number, firstDay: string, lastDay: string) => ({
  rows: sessions,
  sessions,
  events: sessions * 4,
  items: 50,
  uri: "unused",
  firstDay,
  lastDay,
});

let root: string;
const store = new FileSystemArtifactStore();
const uris = () => runArtifactUris(root, "r1");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pms-check-served-"));
  await store.put(`${uris().data.validation}.keep`, "");
  await writeSplitSessions(`${uris().data.validation}part-0.parquet`, validation);
  await store.put(
    uris().data.manifest,
    JSON.stringify({
      splits: {
        train: split(500, "2014-04-01", "2014-04-06"),
        validation: split(120, "2014-04-01", "2014-04-06"),
        test: split(90, "2014-04-07", "2014-04-07"),
      },
    }),
  );
});

const event = () => ({ run: { runId: "r1", uris: uris() }, evaluation: { passed: true } });

/** Model URIs → recommenders: baselines stand in for trained models (the handler only needs a Recommender). */
function loader(models: Record<string, Recommender>): CheckServedModelDependencies["loadModel"] {
  return async (_store, uri) => {
    const model = models[uri];
    if (!model) throw new ArtifactNotFoundError(uri);
    return model;
  };
}

describe("Check the served model against the evaluated one", () => {
  it("passes a served model that scores like the evaluated one, recording both and what each learned from", async () => {
    // Prepare
    const check = createCheckServedModelHandler({
      store,
      loadModel: loader({ [uris().evaluatedModel]: strong, [uris().model]: alsoStrong }),
    });

    // Act
    const result = await check(event());

    // Assess
    expect(result.passed).toBe(true);
    expect(result.maxHitRateDrop).toBe(MAX_HIT_RATE_DROP);
    expect(result.points).toBe(validation.reduce((sum, session) => sum + session.items.length - 1, 0));
    expect(result.evaluated).toMatchObject({
      modelUri: uris().evaluatedModel,
      trainedOn: { splits: ["train"], firstDay: "2014-04-01", lastDay: "2014-04-06", sessions: 500 },
    });
    expect(result.served).toMatchObject({
      modelUri: uris().model,
      trainedOn: { splits: ["train", "test"], firstDay: "2014-04-01", lastDay: "2014-04-07", sessions: 590 },
    });
    expect(result.evaluated["hr@20"]).toBeGreaterThan(0.3);
    expect(Math.abs(result.served["hr@20"] - result.evaluated["hr@20"])).toBeLessThan(MAX_HIT_RATE_DROP);
  });

  it("rejects a served model clearly worse than the evaluated one with ServedModelRejected, naming both figures", async () => {
    // Prepare
    const check = createCheckServedModelHandler({
      store,
      loadModel: loader({ [uris().evaluatedModel]: strong, [uris().model]: weak }),
    });

    // Act
    const failure = check(event());

    // Assess
    await expect(failure).rejects.toMatchObject({ name: PIPELINE_ERRORS.servedModelRejected });
    await expect(failure).rejects.toThrow(
      /The served model \(.*served-model\/model\.tar\.gz, trained on train \+ test\) scores HR@20 0\.\d{4} on the \d+ validation points, 0\.\d{4} below the evaluated model's 0\.\d{4} \(at most 0\.05 is allowed\): nothing was registered or deployed/,
    );
  });

  it("lets a looser threshold through what the default rejects", async () => {
    // Prepare
    const check = createCheckServedModelHandler({
      store,
      loadModel: loader({ [uris().evaluatedModel]: strong, [uris().model]: weak }),
      maxHitRateDrop: 1,
    });

    // Act / Assess
    await expect(check(event())).resolves.toMatchObject({ passed: true, maxHitRateDrop: 1 });
  });

  it("fails EvaluationFailed, naming the artifact, when the served model cannot be loaded", async () => {
    // Prepare
    const check = createCheckServedModelHandler({ store, loadModel: loader({ [uris().evaluatedModel]: strong }) });

    // Act
    const failure = check(event());

    // Assess
    await expect(failure).rejects.toMatchObject({ name: PIPELINE_ERRORS.evaluationFailed });
    await expect(failure).rejects.toThrow(/Loading .*served-model\/model\.tar\.gz/);
  });

  it("names the missing field when the state lacks the served model's URI", async () => {
    // Prepare
    const check = createCheckServedModelHandler({ store, loadModel: loader({}) });
    const { model: _served, ...withoutServed } = uris();

    // Act / Assess
    await expect(check({ run: { runId: "r1", uris: withoutServed } })).rejects.toThrow(/run\.uris\.model/);
  });
});
