import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { LocalChampionSource } from "../../../core/evaluation/champion.ts";
import { productsPrefix } from "../../../core/evaluation/item-attributes.ts";
import type { Recommender } from "../../../core/model/recommender.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { ArtifactNotFoundError } from "../../../core/ports/artifact-store.ts";
import { createEvaluateHandler, type EvaluateDependencies } from "../../../lambdas/evaluate/handler.ts";
import { markovSessions } from "../../core/evaluation/synthetic-sessions.ts";
import { runDuckdb, writeSplitSessions } from "../../support/session-splits.ts";

const train = markovSessions(500, { seed: 21 });
const test = markovSessions(80, { seed: 22, startMs: 50_000_000 });
const strong = CooccurrenceRecommender.fromSessions(train);
const weak = PopularityRecommender.fromSessions(train);
/** A champion that learned from the test sessions themselves. */
const leaked = CooccurrenceRecommender.fromSessions([...train, ...test]);

let root: string;
const store = new FileSystemArtifactStore();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "pms-evaluate-"));
  const uris = runArtifactUris(root, "r1");
  await store.put(`${uris.data.train}.keep`, "");
  await store.put(`${uris.data.test}.keep`, "");
  await writeSplitSessions(`${uris.data.train}part-0.parquet`, train);
  await writeSplitSessions(`${uris.data.test}part-0.parquet`, test);
});

function event(runId = "r1", gate = ["hr@20 >= popularity + 0.05", "mrr@20 >= champion - 0.01"]) {
  return {
    run: {
      runId,
      shortId: runId,
      executionName: `exec-${runId}`,
      trigger: "local",
      startedAt: "2026-11-26T14:00:00Z",
      window: { start: "2014-04-01", end: "2014-04-07" },
      tenant: "t",
      deploy: "auto",
      gate,
      training: { epochs: 3 },
      uris: runArtifactUris(root, runId),
    },
    train: { jobId: "j", status: "SUCCEEDED" },
  };
}

/** Model URIs → recommenders: baselines stand in for trained models (the handler only needs a Recommender). */
function loader(models: Record<string, Recommender>): EvaluateDependencies["loadModel"] {
  return async (_store, uri) => {
    const model = models[uri];
    if (!model) throw new ArtifactNotFoundError(uri);
    return model;
  };
}

const options = { bootstrapResamples: 200, behaviouralSample: 100 };

describe("Evaluate handler", () => {
  it("passes a good model with no champion and writes the report and metrics.json", async () => {
    // Prepare
    const uris = runArtifactUris(root, "r1");
    const handler = createEvaluateHandler({
      store,
      championSource: new LocalChampionSource(),
      loadModel: loader({ [uris.evaluatedModel]: strong }),
      options,
      now: () => new Date("2026-11-26T15:00:00Z"),
    });

    // Act
    const result = await handler(event());

    // Assess
    expect(result).toMatchObject({ passed: true, reasons: [], reportUri: uris.report, metricsUri: uris.metrics });
    expect(result.checks.map((check) => [check.name, check.passed])).toEqual([
      ["hr@20 >= popularity + 0.05", true],
      ["mrr@20 >= champion - 0.01", true],
    ]);
    expect(result.checks[1]?.detail).toMatch(/no champion is serving/);
    const metrics = JSON.parse(await readFile(uris.metrics, "utf8"));
    expect(metrics).toMatchObject({
      runId: "r1",
      generatedAt: "2026-11-26T15:00:00.000Z",
      champion: null,
      // The figures are the evaluated model's; the served one is named beside it.
      modelUri: uris.evaluatedModel,
      servedModelUri: uris.model,
    });
    expect(metrics.challenger.metrics["hr@20"]).toBeGreaterThan(metrics.baselines[0].metrics["hr@20"]);
    const html = await readFile(uris.report, "utf8");
    expect(html).toContain("Quality gate passed");
    expect(html).toContain(`<dt>served model</dt><dd>${uris.model} (learned from train + test`);
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).not.toMatch(/<script|https?:\/\/(?!vega\.github\.io|www\.w3\.org)/);
  });

  it("fails the gate when a better champion serves, with the paired interval as the reason", async () => {
    // Prepare
    const uris = runArtifactUris(root, "r1");
    const handler = createEvaluateHandler({
      store,
      championSource: new LocalChampionSource({ modelUri: "/champion/model.tar.gz", description: "local endpoint" }),
      loadModel: loader({ [uris.evaluatedModel]: weak, "/champion/model.tar.gz": strong }),
      options,
    });

    // Act
    const result = await handler(event());

    // Assess
    expect(result.passed).toBe(false);
    expect(result.reasons).toHaveLength(2);
    expect(result.reasons[1]).toMatch(/^mrr@20 >= champion - 0.01 failed: challenger − champion −/);
    const metrics = JSON.parse(await readFile(uris.metrics, "utf8"));
    expect(metrics.champion).toMatchObject({ rescored: true, description: "local endpoint" });
    expect(await readFile(uris.report, "utf8")).toContain("Quality gate failed");
  });

  it("judges a champion whose artifact is gone on its stored metrics, and says so", async () => {
    // Prepare
    const uris = runArtifactUris(root, "r1");
    await store.put(
      `${root}/runs/old/report/metrics.json`,
      JSON.stringify({ challenger: { metrics: { "mrr@20": 0.99 } } }),
    );
    const handler = createEvaluateHandler({
      store,
      championSource: new LocalChampionSource(
        { modelUri: "/gone/model.tar.gz", metricsUri: `${root}/runs/old/report/metrics.json`, description: "old run" },
        store,
      ),
      loadModel: loader({ [uris.evaluatedModel]: strong }),
      options,
    });

    // Act
    const result = await handler(event());

    // Assess
    expect(result.passed).toBe(false);
    expect(result.checks[1]?.detail).toMatch(/stored metrics, not re-scored/);
    const metrics = JSON.parse(await readFile(uris.metrics, "utf8"));
    expect(metrics.champion.note).toMatch(/not re-scored \(loading \/gone\/model.tar.gz failed: No artifact at/);
  });

  it("scores the champion's evaluated model when the serving one learned from today's test day", async () => {
    // Prepare: run r2 evaluates the window its champion's run (r0) already covered, so the model
    // serving learned from r2's test day; r0's evaluated model held that day out.
    const uris = runArtifactUris(root, "r2");
    await store.put(`${uris.data.train}.keep`, "");
    await store.put(`${uris.data.test}.keep`, "");
    await writeSplitSessions(`${uris.data.train}part-0.parquet`, train);
    await writeSplitSessions(`${uris.data.test}part-0.parquet`, test);
    const champion = runArtifactUris(root, "r0");
    const days = (train: string, test: string) => ({
      splits: {
        train: { firstDay: "2014-04-01", lastDay: train, sessions: 500 },
        validation: { firstDay: "2014-04-01", lastDay: train, sessions: 20 },
        test: { firstDay: test, lastDay: test, sessions: 80 },
      },
    });
    await store.put(uris.data.manifest, JSON.stringify(days("2014-04-06", "2014-04-07")));
    await store.put(champion.data.manifest, JSON.stringify(days("2014-04-06", "2014-04-07")));
    await store.put(champion.evaluatedModel, "archive");
    const handler = createEvaluateHandler({
      store,
      championSource: new LocalChampionSource({ modelUri: champion.model, description: "local endpoint" }),
      // The serving archive would win on points it learned from; the evaluated one is as good as the challenger.
      loadModel: loader({ [uris.evaluatedModel]: strong, [champion.model]: leaked, [champion.evaluatedModel]: strong }),
      options,
    });

    // Act
    const result = await handler(event("r2"));

    // Assess
    expect(result.checks[1]).toMatchObject({ name: "mrr@20 >= champion - 0.01", passed: true });
    const metrics = JSON.parse(await readFile(uris.metrics, "utf8"));
    expect(metrics.champion).toMatchObject({ rescored: true });
    expect(metrics.champion.description).toMatch(/evaluated model is re-scored: .* into today's test span/);
  });

  it("slices by the products table when the run has one", async () => {
    // Prepare
    const uris = runArtifactUris(root, "r1");
    const prefix = productsPrefix(uris);
    await store.put(`${prefix}.keep`, "");
    await runDuckdb(
      `COPY (SELECT 'i' || n AS sku, 'cat' || (n % 4) AS category_hash, n % 3 AS price_bucket FROM range(50) t(n)) TO '${prefix}part-0.parquet' (FORMAT PARQUET)`,
    );
    const handler = createEvaluateHandler({
      store,
      championSource: new LocalChampionSource(),
      loadModel: loader({ [uris.evaluatedModel]: strong }),
      options,
    });

    // Act
    await handler(event());

    // Assess
    const metrics = JSON.parse(await readFile(uris.metrics, "utf8"));
    const slices = new Set(metrics.slices.map((row: { slice: string }) => row.slice));
    expect(slices).toEqual(
      new Set(["session length", "prefix length", "target popularity decile", "category", "price bucket"]),
    );
    expect(metrics.behavioural[0].description).toMatch(/same category/);
    await store.delete(`${prefix}part-0.parquet`);
  });

  it("rejects a payload without the run's URIs, naming the field", async () => {
    const handler = createEvaluateHandler({ store, championSource: new LocalChampionSource(), loadModel: loader({}) });
    const broken = event();
    const { uris: _uris, ...runWithoutUris } = broken.run;
    await expect(handler({ ...broken, run: runWithoutUris })).rejects.toMatchObject({
      name: "InvalidTaskEvent",
      message: expect.stringMatching(/run\.uris/),
    });
  });

  it("fails with EvaluationFailed, keeping the cause, when the test split is missing", async () => {
    const handler = createEvaluateHandler({ store, championSource: new LocalChampionSource(), loadModel: loader({}) });
    const error = (await handler(event("no-such-run")).catch((caught: unknown) => caught)) as Error;
    expect(error).toMatchObject({
      name: "EvaluationFailed",
      message: expect.stringMatching(/^Reading the run's sessions: No Parquet files under/),
    });
    expect(error.cause).toBeInstanceOf(Error);
  });
});
