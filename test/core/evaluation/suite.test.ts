import { describe, expect, it } from "vitest";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { EvaluationDataError, runEvaluationSuite } from "../../../core/evaluation/suite.ts";
import { markovSessions } from "./synthetic-sessions.ts";

const train = markovSessions(600, { seed: 11 });
const test = markovSessions(120, { seed: 12, startMs: 10_000_000 });
const strong = CooccurrenceRecommender.fromSessions(train);
const weak = PopularityRecommender.fromSessions(train);
const options = { bootstrapResamples: 300, behaviouralSample: 100 };

describe("runEvaluationSuite", () => {
  it("scores the model and every baseline on the same points and orders them as the data dictates", async () => {
    const summary = await runEvaluationSuite({
      challenger: strong,
      trainSessions: train,
      testSessions: test,
      gate: ["hr@20 >= popularity + 0.05"],
      options,
    });
    expect(summary.points.total).toBe(test.reduce((sum, session) => sum + session.items.length - 1, 0));
    expect(summary.baselines.map((baseline) => baseline.label)).toEqual(["popularity", "cooccurrence", "sknn"]);
    const hr = (label: string) => summary.baselines.find((baseline) => baseline.label === label)?.metrics["hr@20"] ?? 0;
    expect(hr("cooccurrence")).toBeGreaterThan(hr("popularity") + 0.2);
    expect(hr("sknn")).toBeGreaterThan(hr("popularity") + 0.2);
    // The challenger is the co-occurrence recommender itself: same figures on the same points.
    expect(summary.challenger.metrics["hr@20"]).toBe(hr("cooccurrence"));
    const interval = summary.challenger.intervals["hr@20"];
    expect(interval?.lower).toBeLessThanOrEqual(interval?.mean ?? 0);
    expect(interval?.upper).toBeGreaterThanOrEqual(interval?.mean ?? 0);
    expect(summary.gate.passed).toBe(true);
    expect(summary.champion).toBeNull();
    expect(summary.slices.some((row) => row.slice === "target popularity decile")).toBe(true);
    expect(summary.behavioural.map((row) => row.name)).toEqual([
      "perturbation",
      "prefix shuffle",
      "repeat handling",
      "cold items",
    ]);
  });

  it("holds the model to the strongest baseline with a paired interval: as good is not better", async () => {
    const gate = ["hr@20 > best-baseline", "mrr@20 >= best-baseline - 0.005"];
    const same = await runEvaluationSuite({
      challenger: CooccurrenceRecommender.fromSessions(train),
      trainSessions: train,
      testSessions: test,
      gate,
      options: { ...options, sknn: false },
    });
    const worse = await runEvaluationSuite({
      challenger: weak,
      trainSessions: train,
      testSessions: test,
      gate,
      options: { ...options, sknn: false },
    });

    // Without V-SkNN, co-occurrence is the strongest baseline on both metrics.
    expect(same.bestBaselines["hr@20"]).toMatchObject({
      name: "cooccurrence",
      difference: { mean: 0, lower: 0, upper: 0 },
    });
    expect(same.gate.checks.map((check) => check.passed)).toEqual([false, true]);
    expect(worse.bestBaselines["mrr@20"]?.difference?.upper).toBeLessThan(0);
    expect(worse.gate.checks.map((check) => check.passed)).toEqual([false, false]);
    expect(worse.gate.reasons[0]).toMatch(
      /^hr@20 > best-baseline failed: model − cooccurrence \(the best baseline by hr@20/,
    );
  });

  it("lets a better champion block the challenger", async () => {
    const summary = await runEvaluationSuite({
      challenger: weak,
      trainSessions: train,
      testSessions: test,
      gate: ["hr@20 >= champion - 0.01", "mrr@20 >= champion - 0.01"],
      champion: { info: { description: "endpoint e → model m", modelUri: "/m.tar.gz" }, recommender: strong },
      options,
    });
    expect(summary.champion?.rescored).toBe(true);
    expect(summary.champion?.differences["hr@20"]?.upper).toBeLessThan(0);
    expect(summary.gate.passed).toBe(false);
    expect(summary.gate.reasons).toHaveLength(2);
    expect(summary.gate.reasons[0]).toMatch(/^hr@20 >= champion - 0.01 failed: challenger − champion −0\.\d+ \(95% CI/);
  });

  it("lets an equally good challenger through when the champion is the same model", async () => {
    const summary = await runEvaluationSuite({
      challenger: strong,
      trainSessions: train,
      testSessions: test,
      gate: ["hr@20 >= champion - 0.01"],
      champion: { info: { description: "same" }, recommender: CooccurrenceRecommender.fromSessions(train) },
      options,
    });
    expect(summary.champion?.differences["hr@20"]).toMatchObject({ mean: 0, lower: 0, upper: 0 });
    expect(summary.gate.passed).toBe(true);
  });

  it("falls back to stored champion metrics and says the champion was not re-scored", async () => {
    const summary = await runEvaluationSuite({
      challenger: weak,
      trainSessions: train,
      testSessions: test,
      gate: ["hr@20 >= champion"],
      champion: {
        info: { description: "package 7", storedMetrics: { "hr@20": 0.99 } },
        loadError: "model.tar.gz is gone",
      },
      options,
    });
    expect(summary.champion).toMatchObject({ rescored: false, metrics: { "hr@20": 0.99 } });
    expect(summary.champion?.note).toMatch(/not re-scored \(model.tar.gz is gone\)/);
    expect(summary.gate.passed).toBe(false);
  });

  it("adds the gate's k to the computed cut-offs and slices by product columns", async () => {
    const attributes = new Map(
      train.flatMap((session) => session.items).map((sku) => [sku, { category: `c${Number(sku.slice(1)) % 3}` }]),
    );
    const summary = await runEvaluationSuite({
      challenger: strong,
      trainSessions: train,
      testSessions: test,
      gate: ["ndcg@5 >= 0"],
      itemAttributes: attributes,
      options: { ...options, sknn: false },
    });
    expect(summary.ks).toEqual([5, 10, 20]);
    expect(summary.challenger.metrics["ndcg@5"]).toBeGreaterThan(0);
    expect(summary.slices.filter((row) => row.slice === "category").map((row) => row.bucket)).toEqual([
      "c0",
      "c1",
      "c2",
    ]);
    expect(summary.behavioural[0]?.description).toMatch(/same category/);
    expect(summary.notes).toContain("V-SkNN was turned off for this evaluation");
  });

  it("samples points above the limit and refuses a test split without points", async () => {
    const summary = await runEvaluationSuite({
      challenger: weak,
      trainSessions: train,
      testSessions: test,
      gate: ["hr@20 >= 0"],
      options: { ...options, maxPoints: 50 },
    });
    expect(summary.points).toMatchObject({ scored: 50, sampled: true });
    await expect(
      runEvaluationSuite({
        challenger: weak,
        trainSessions: train,
        testSessions: [["only-one"]],
        gate: ["hr@20 >= 0"],
      }),
    ).rejects.toThrow(EvaluationDataError);
  });

  it("fits the baselines on the most recent training sessions above the cap, and says so", async () => {
    // Prepare: the oldest sessions (listed last, so order alone would keep them) hold an item no later session has.
    const old = markovSessions(50, { seed: 13, startMs: -10_000_000 }).map((session) => ({
      ...session,
      items: ["only-in-old-sessions", ...session.items],
    }));

    // Act
    const summary = await runEvaluationSuite({
      challenger: weak,
      trainSessions: [...train, ...old],
      testSessions: test,
      gate: ["hr@20 >= 0"],
      options: { ...options, maxTrainingSessions: train.length },
    });

    // Assess
    expect(summary.training.sessions).toBe(train.length);
    expect(summary.notes).toContain(
      `${train.length + old.length} training sessions; the baselines were fitted on the ${train.length} most recent.`,
    );
    expect(summary.training.items).toBe(new Set(train.flatMap((session) => session.items)).size);
  });
});
