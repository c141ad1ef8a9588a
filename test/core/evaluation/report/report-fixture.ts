import { CooccurrenceRecommender } from "../../../../core/baselines/cooccurrence.ts";
import { PopularityRecommender } from "../../../../core/baselines/popularity.ts";
import { profileData } from "../../../../core/evaluation/profile.ts";
import type { ReportMetadata } from "../../../../core/evaluation/report/index.ts";
import { type EvaluationSummary, runEvaluationSuite } from "../../../../core/evaluation/suite.ts";
import type { TrainingMetrics } from "../../../../core/model/training-metrics.ts";
import { markovSessions } from "../synthetic-sessions.ts";

const hyperparameters = {
  epochs: 3,
  embeddingDim: 32,
  hiddenDim: 64,
  maxLength: 20,
  batchSize: 128,
  learningRate: 0.001,
  negativeSamples: 0,
  dropout: 0.1,
  minItemCount: 1,
  patience: 2,
  seed: 1,
};

export const trainingMetrics: TrainingMetrics = {
  runId: "r-report",
  backend: "wasm",
  device: "cpu",
  hyperparameters,
  epochs: [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 6 / epoch,
    validation: { "hr@20": 0.2 * epoch, "mrr@20": 0.07 * epoch, testPoints: 300 },
    seconds: 2,
    samplesPerSecond: 400,
  })),
  bestEpoch: 3,
  stoppedEarly: false,
  validation: { "hr@20": 0.6, "mrr@20": 0.21, testPoints: 300 },
  blend: {
    weight: 0.3,
    gru: { "hr@20": 0.56, "mrr@20": 0.2, testPoints: 300 },
    hybrid: { "hr@20": 0.6, "mrr@20": 0.21, testPoints: 300 },
  },
  totals: {
    seconds: 7,
    trainingSeconds: 6,
    samples: 2400,
    samplesPerSecond: 400,
    trainingSessions: 600,
    validationSessions: 60,
    vocabularySize: 50,
    parameters: 12_345,
  },
  dataManifestHash: "abc123",
  codeVersion: "0.1.0+test",
  completedAt: "2026-11-26T14:00:00Z",
};

/** A realistic summary: a model (co-occurrence standing in), a weaker champion, all baselines. */
export async function reportSummary(): Promise<EvaluationSummary> {
  const train = markovSessions(600, { seed: 31 });
  const test = markovSessions(120, { seed: 32, startMs: 10_000_000 });
  return runEvaluationSuite({
    challenger: CooccurrenceRecommender.fromSessions(train),
    trainSessions: train,
    testSessions: test,
    gate: ["hr@20 >= 0.5", "hr@20 >= popularity + 0.05", "mrr@20 >= champion - 0.01", "coverage@20 >= 0.9"],
    champion: {
      info: { description: "endpoint pms-recs → model pms-r0" },
      recommender: PopularityRecommender.fromSessions(train),
    },
    // The serving model's run saw less traffic over a smaller catalogue: the drift table has something to show.
    previousProfile: {
      profile: profileData(markovSessions(300, { seed: 41, items: 30 }), markovSessions(60, { seed: 42, items: 30 })),
      runId: "r-previous",
    },
    options: { bootstrapResamples: 300, behaviouralSample: 200 },
  });
}

export const reportMetadata: ReportMetadata = {
  runId: "r-report",
  executionName: "exec-<report>",
  trigger: "local",
  startedAt: "2026-11-26T14:00:00Z",
  window: { start: "2014-04-01", end: "2014-04-07" },
  tenant: "yoochoose",
  deploy: "auto",
  modelUri: "/tmp/pms/runs/r-report/model/model.tar.gz",
  hyperparameters,
  backend: "wasm",
  trainingMetrics,
  generatedAt: "2026-11-26T15:00:00Z",
};
