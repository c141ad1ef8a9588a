/**
 * `npm run bench -- model [--data <clicks.tsv>] [--test-day 2014-04-06] [--hyperparameters <json>]
 *   [--validation-share 0.05] [--no-torch] [--model-out bench/results/model.tar.gz]`
 *
 * Trains the session GRU on the RecSys 2015 click log with the last day held out and scores it with
 * the evaluation room's metrics next to the popularity, co-occurrence and V-SkNN baselines. The same
 * architecture in PyTorch (bench/reference/gru4rec_torch.py, one thread) is timed in the same run.
 *
 * Protocol (GRU4Rec's / session-rec's): train on sessions that start before the test day, test on
 * sessions that start on it; test clicks on items absent from training are removed and test sessions
 * left with fewer than two clicks are dropped; every position of every test session predicts the next
 * item (prefix = the last `maxLength` clicks). A seeded random `--validation-share` of the training
 * sessions is held out of the GRU's training for early stopping and blend tuning, as the pipeline's
 * validation split is; the model's neighbours and the baselines use all training sessions.
 *
 * The two cores are shared with other work: CPU seconds are reported beside wall seconds, and the
 * load average is recorded.
 */
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { FileSystemArtifactStore } from "../core/artifacts/filesystem.ts";
import { CooccurrenceRecommender } from "../core/baselines/cooccurrence.ts";
import { countItems, PopularityRecommender } from "../core/baselines/popularity.ts";
import { SknnRecommender } from "../core/baselines/sknn.ts";
import { readClickLog, splitByDay } from "../core/data/click-log.ts";
import { scoreRecommender, testPoints } from "../core/evaluation/metrics.ts";
import { POPULAR_FALLBACK_SIZE, packTrainedModel, trainedModelMetadata } from "../core/model/artifact.ts";
import { selectBackend } from "../core/model/backend.ts";
import { recommenderOf } from "../core/model/load.ts";
import { parseTrainingParameters } from "../core/model/parameters.ts";
import { SeededRandom } from "../core/model/random.ts";
import type { Recommender } from "../core/model/recommender.ts";
import { SessionRecommender } from "../core/model/session-recommender.ts";
import { trainSessionModel } from "../core/model/training.ts";

const run_ = promisify(execFile);

function flag(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(name);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}

const round = (value: number, digits = 4) => Number(value.toFixed(digits));
const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

async function score(recommender: Recommender, points: ReturnType<typeof testPoints>, itemCounts: Map<string, number>) {
  const scored = await scoreRecommender(recommender, points, { itemCounts, ks: [10, 20], batchSize: 512 });
  return {
    "hr@20": round(scored.metrics["hr@20"] ?? 0),
    "mrr@20": round(scored.metrics["mrr@20"] ?? 0),
    "hr@10": round(scored.metrics["hr@10"] ?? 0),
    "mrr@10": round(scored.metrics["mrr@10"] ?? 0),
    scoringSeconds: round(scored.seconds, 2),
  };
}

export async function run(args: string[]): Promise<unknown> {
  const data = flag(args, "--data", "../shared/data/yoochoose-clicks-100k_train_full.txt");
  const testDay = flag(args, "--test-day", "2014-04-06");
  const validationShare = Number(flag(args, "--validation-share", "0.05"));
  const parameters = parseTrainingParameters(flag(args, "--hyperparameters", ""));
  const backend = await selectBackend({ log: (line) => console.error(line) });

  const sessions = await readClickLog(data);
  const { train, test } = splitByDay(sessions, testDay);
  // Sessions are in time order: the index is their start time for the neighbours' recency.
  const timedTrain = train.map((items, index) => ({ items, session_start_ms: index }));
  const sampler = new SeededRandom(parameters.seed);
  const isValidation = timedTrain.map(() => sampler.next() < validationShare);
  const fitted = timedTrain.filter((_, index) => !isValidation[index]);
  const validation = timedTrain.filter((_, index) => isValidation[index]);
  const points = testPoints(test, { maxPrefixLength: parameters.maxLength });
  const itemCounts = countItems(train);
  console.error(
    `data: ${train.length} training sessions (${validation.length} of them held out for validation), ${test.length} test sessions, ${points.length} test points`,
  );

  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const trained = await trainSessionModel(fitted, validation, parameters, {
    onProgress: (progress) =>
      process.stderr.write(
        `\repoch ${progress.epoch}/${progress.epochs} batch ${progress.batch}/${progress.batches} loss ${progress.loss.toFixed(3)} ${Math.round(progress.samplesPerSecond)} samples/s eta ${Math.round(progress.etaSeconds)}s   `,
      ),
    onEpochEnd: (epoch) =>
      console.error(
        `\nepoch ${epoch.epoch}: loss ${epoch.loss.toFixed(4)} validation hr@20 ${epoch.validation["hr@20"].toFixed(4)} mrr@20 ${epoch.validation["mrr@20"].toFixed(4)} ${epoch.seconds.toFixed(1)}s`,
      ),
  });
  const trainingWallSeconds = (performance.now() - wallBefore) / 1000;
  const trainingCpuSeconds = cpuSeconds(process.cpuUsage(cpuBefore));
  const metadata = trainedModelMetadata(trained, {
    runId: "bench",
    hyperparameters: parameters,
    codeVersion: "bench",
    trainedOn: backend.backend,
  });
  const popular = trained.vocabulary.popular(POPULAR_FALLBACK_SIZE);
  const model = recommenderOf({ ...trained, popular, metadata });
  const gruAlone = new SessionRecommender(trained.model, trained.vocabulary, popular, metadata, backend.backend);
  const ours = {
    ...(await score(model, points, itemCounts)),
    gruAlone: await score(gruAlone, points, itemCounts),
    blend: trained.blend,
    backend: backend.backend,
    epochsRun: trained.epochs.length,
    bestEpoch: trained.bestEpoch,
    samples: trained.samples,
    // Wall time of the whole `trainSessionModel` call: epochs, per-epoch validation, weight copies.
    trainingWallSeconds: round(trainingWallSeconds, 1),
    trainingCpuSeconds: round(trainingCpuSeconds, 1),
    // Training passes only (validation excluded), as the PyTorch figure is measured.
    trainingPassSeconds: round(trained.trainingSeconds, 1),
    samplesPerSecond: round(trained.samples / trained.trainingSeconds, 1),
    samplesPerCpuSecond: round(trained.samples / trainingCpuSeconds, 1),
    parameters: trained.parameters,
    epochs: trained.epochs,
  };
  // The serving benchmark's default model.
  const artifact = flag(args, "--model-out", new URL("./results/model.tar.gz", import.meta.url).pathname);
  await new FileSystemArtifactStore().put(artifact, await packTrainedModel(trained, metadata));
  model.dispose();
  const peakRssMiB = round(process.resourceUsage().maxRSS / 1024, 1);

  const baselines: Record<string, unknown> = {};
  for (const [name, build] of [
    ["popularity", () => PopularityRecommender.fromSessions(train)],
    ["cooccurrence", () => CooccurrenceRecommender.fromSessions(train)],
    ["sknn", () => new SknnRecommender(train.map((items, index) => ({ items, session_start_ms: index })))],
  ] as const) {
    const started = performance.now();
    const recommender = build();
    const buildSeconds = (performance.now() - started) / 1000;
    baselines[name] = { ...(await score(recommender, points, itemCounts)), buildSeconds: round(buildSeconds, 2) };
  }

  let pytorch: Record<string, unknown> | { skipped: string };
  if (args.includes("--no-torch")) pytorch = { skipped: "--no-torch" };
  else {
    try {
      const { stdout } = await run_(
        "/usr/bin/python3",
        [
          new URL("./reference/gru4rec_torch.py", import.meta.url).pathname,
          data,
          testDay,
          JSON.stringify(parameters),
          String(validationShare),
        ],
        { env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" }, maxBuffer: 1 << 20 },
      );
      pytorch = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    } catch (error) {
      pytorch = { skipped: `PyTorch reference failed: ${(error as Error).message.split("\n")[0]}` };
    }
  }
  const torchRate = (pytorch as { samplesPerSecond?: number }).samplesPerSecond;
  const torchCpuRate = (pytorch as { samplesPerCpuSecond?: number }).samplesPerCpuSecond;
  return {
    data,
    protocol: {
      testDay,
      trainingSessions: train.length,
      validationSessions: validation.length,
      testSessions: test.length,
      testPoints: points.length,
      items: itemCounts.size,
    },
    hyperparameters: parameters,
    model: { ...ours, peakRssMiB },
    baselines,
    pytorch,
    oursOverPytorchSamplesPerSecond: torchRate ? round(ours.samplesPerSecond / torchRate, 3) : null,
    oursOverPytorchSamplesPerCpuSecond: torchCpuRate ? round(ours.samplesPerCpuSecond / torchCpuRate, 3) : null,
    loadAverage: loadavg().map((value) => round(value, 2)),
  };
}
