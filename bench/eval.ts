/**
 * `npm run bench -- eval [--points 10000,100000] [--items 20000] [--model gru|sknn|<model.tar.gz>]`
 *
 * Time and peak RSS of the Evaluate stage's scoring on synthetic sessions over a 20,000-item
 * catalogue. Each size runs in a fresh child process so its peak RSS is its own. Per size:
 * - `modelSeconds`: scoring the model alone on every point (the target: 100k points < 60 s);
 * - `suiteSeconds`: the whole suite — model, three baselines, a re-scored champion (co-occurrence
 *   standing in), bootstrap, slices, behavioural tests.
 * The model (`--model`, default `gru`): the served model of core/model — the GRU at the default
 * hyper-parameters blended with its session-kNN over the training sessions — over the synthetic
 * catalogue with seeded, untrained weights (scoring time does not depend on the weights' values),
 * packed to model.tar.gz and loaded back as the Evaluate stage loads it (`loadModelForScoring`: one
 * scoring thread per CPU),
 * on the TF.js backend `selectBackend` picks (wasm here); `sknn`: V-SkNN stands in; or a trained
 * model.tar.gz's path. The output says which; the GRU's HR is meaningless (untrained).
 */
import { fork } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileSystemArtifactStore } from "../core/artifacts/filesystem.ts";
import { CooccurrenceRecommender } from "../core/baselines/cooccurrence.ts";
import { countItems } from "../core/baselines/popularity.ts";
import { SknnRecommender } from "../core/baselines/sknn.ts";
import { seededRandom } from "../core/evaluation/bootstrap.ts";
import { scoreRecommender, testPoints } from "../core/evaluation/metrics.ts";
import { runEvaluationSuite } from "../core/evaluation/suite.ts";
import type { Recommender } from "../core/model/recommender.ts";

interface SizeFigures {
  readonly points: number;
  readonly model: string;
  readonly catalogueItems: number;
  readonly trainingSessions: number;
  readonly trainingEvents: number;
  readonly modelSeconds: number;
  /** CPU time of the scoring process: what the figure would be on an idle core. */
  readonly modelCpuSeconds: number;
  readonly modelPointsPerSecond: number;
  readonly suiteSeconds: number;
  readonly suiteCpuSeconds: number;
  /** 1-minute load average at the end: the 2 cores are shared with other work. */
  readonly loadAverage: number;
  readonly peakRssMiB: number;
  readonly hr20: number;
  readonly baselinesHr20: Record<string, number>;
}

/** Sessions that walk a 20k-item catalogue: mostly to a nearby item (learnable), sometimes to a Zipf-popular one. */
function syntheticSessions(count: number, items: number, seed: number, startMs: number) {
  const random = seededRandom(seed);
  const zipf = () => Math.min(items - 1, Math.floor(items ** random() - 1));
  return Array.from({ length: count }, (_, index) => {
    const length = 2 + Math.floor(-Math.log(1 - random()) * 3.5);
    let current = zipf();
    const sequence = [`p${current}`];
    for (let step = 1; step < length; step++) {
      current = random() < 0.6 ? (current + 1 + Math.floor(random() * 3)) % items : zipf();
      sequence.push(`p${current}`);
    }
    return { items: sequence, session_start_ms: startMs + index * 1000 };
  });
}

async function measure(points: number, items: number, modelKind: string): Promise<SizeFigures> {
  const train = syntheticSessions(Math.max(50_000, points * 2), items, 1, 0);
  // Test sessions average ~3.5 points; generate until there are enough, then cut to the exact count.
  const test = syntheticSessions(Math.ceil(points / 3), items, 2, 10 ** 12);
  let allPoints = testPoints(test);
  while (allPoints.length < points) {
    test.push(...syntheticSessions(Math.ceil(points / 10), items, test.length + 3, 10 ** 12 + test.length * 1000));
    allPoints = testPoints(test);
  }
  let model: Recommender & { dispose?(): void };
  let modelName: string;
  const store = new FileSystemArtifactStore();
  if (modelKind === "sknn") {
    model = new SknnRecommender(train);
    modelName = "V-SkNN standing in for the model";
  } else {
    const { loadModelForScoring } = await import("../core/model/parallel-model.ts");
    let uri = modelKind;
    if (modelKind === "gru") {
      uri = join(await mkdtemp(join(tmpdir(), "pms-bench-eval-")), "model.tar.gz");
      await store.put(uri, await untrainedGruArchive(train));
    }
    const loaded = await loadModelForScoring(store, uri);
    model = loaded;
    modelName =
      modelKind === "gru"
        ? `session GRU (untrained, seeded weights; ${loaded.metadata.vocabularySize} items) on TF.js ${loaded.backend}`
        : `TF.js model ${uri} on ${loaded.backend}`;
  }
  // Cut the test sessions' points to exactly `points` by dropping whole sessions from the end, then trimming.
  const exact = allPoints.slice(0, points);
  const lastSession = exact[exact.length - 1]?.session ?? 0;
  const cutSessions = test.slice(0, lastSession + 1);
  const itemCounts = countItems(train);

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const scored = await scoreRecommender(model, exact, { itemCounts, ks: [10, 20], batchSize: 512 });
  const modelSeconds = (performance.now() - started) / 1000;
  const modelCpu = process.cpuUsage(cpuBefore);

  const suiteCpuBefore = process.cpuUsage();
  const suiteStarted = performance.now();
  const summary = await runEvaluationSuite({
    challenger: model,
    trainSessions: train,
    testSessions: cutSessions,
    gate: ["hr@20 >= popularity + 0.05", "mrr@20 >= champion - 0.01"],
    // A re-scored champion exercises the paired bootstrap; co-occurrence stands in for it.
    champion: {
      info: { description: "co-occurrence standing in" },
      recommender: CooccurrenceRecommender.fromSessions(train),
    },
    options: { maxPoints: points },
  });
  const suiteSeconds = (performance.now() - suiteStarted) / 1000;
  const suiteCpu = process.cpuUsage(suiteCpuBefore);
  model.dispose?.();
  const cpuSeconds = (usage: NodeJS.CpuUsage) => Number(((usage.user + usage.system) / 1e6).toFixed(2));
  return {
    points: exact.length,
    model: modelName,
    catalogueItems: itemCounts.size,
    trainingSessions: train.length,
    trainingEvents: summary.training.events,
    modelSeconds: Number(modelSeconds.toFixed(2)),
    modelCpuSeconds: cpuSeconds(modelCpu),
    modelPointsPerSecond: Math.round(exact.length / modelSeconds),
    suiteSeconds: Number(suiteSeconds.toFixed(2)),
    suiteCpuSeconds: cpuSeconds(suiteCpu),
    loadAverage: Number(loadavg()[0]?.toFixed(1)),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    hr20: Number((scored.metrics["hr@20"] ?? 0).toFixed(4)),
    baselinesHr20: Object.fromEntries(
      summary.baselines.map((baseline) => [baseline.label, Number((baseline.metrics["hr@20"] ?? 0).toFixed(4))]),
    ),
  };
}

/**
 * The pipeline's model architecture and artifact format — the GRU and its session-kNN, blended at the
 * untuned weight — with seeded weights instead of trained ones.
 */
async function untrainedGruArchive(
  sessions: readonly { items: readonly string[]; session_start_ms: number }[],
): Promise<Uint8Array> {
  const { packModelArchive } = await import("../core/model/artifact.ts");
  const { selectBackend } = await import("../core/model/backend.ts");
  const { createModelWeights, SessionModel } = await import("../core/model/gru4rec.ts");
  const { SeededRandom } = await import("../core/model/random.ts");
  const { DEFAULT_TRAINING_PARAMETERS } = await import("../core/model/parameters.ts");
  const { ItemVocabulary } = await import("../core/model/vocabulary.ts");
  const { NEIGHBOUR_DEFAULTS, SessionNeighbours } = await import("../core/model/neighbours.ts");
  const { UNTUNED_BLEND_WEIGHT } = await import("../core/model/training.ts");
  const backend = await selectBackend({ log: () => {} });
  const parameters = DEFAULT_TRAINING_PARAMETERS;
  const vocabulary = ItemVocabulary.build(
    sessions.map((session) => session.items),
    parameters.minItemCount,
  );
  const config = {
    vocabularySize: vocabulary.size,
    embeddingDim: parameters.embeddingDim,
    hiddenDim: parameters.hiddenDim,
    maxLength: parameters.maxLength,
  };
  const model = new SessionModel(config, createModelWeights(config, new SeededRandom(parameters.seed)));
  const archive = await packModelArchive({
    model,
    vocabulary,
    neighbours: new SessionNeighbours(
      { ...NEIGHBOUR_DEFAULTS, weight: UNTUNED_BLEND_WEIGHT },
      SessionNeighbours.encodeSessions(sessions, vocabulary),
      vocabulary,
    ),
    metadata: {
      runId: "bench-eval",
      hyperparameters: parameters,
      validation: { "hr@20": 0, "mrr@20": 0, testPoints: 0 },
      dataManifestHash: null,
      codeVersion: "bench",
      trainedOn: backend.backend,
      createdAt: new Date().toISOString(),
      vocabularySize: vocabulary.size,
    },
  });
  model.dispose();
  return archive;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function inChild(points: number, items: number, modelKind: string): Promise<SizeFigures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, PMS_BENCH_EVAL_CHILD: JSON.stringify({ points, items, modelKind }) },
    });
    child.once("message", (figures) => resolve(figures as SizeFigures));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`bench eval child for ${points} points exited with ${code}`));
    });
  });
}

export async function run(args: string[]) {
  const sizes = (option(args, "--points") ?? "10000,100000").split(",").map(Number);
  const items = Number(option(args, "--items") ?? 20_000);
  const modelKind = option(args, "--model") ?? "gru";
  const figures: SizeFigures[] = [];
  for (const points of sizes) {
    const result = await inChild(points, items, modelKind);
    console.error(
      `${points} points: model ${result.modelSeconds} s (CPU ${result.modelCpuSeconds} s), suite ${result.suiteSeconds} s (CPU ${result.suiteCpuSeconds} s), peak RSS ${result.peakRssMiB} MiB, load ${result.loadAverage}`,
    );
    figures.push(result);
  }
  return {
    machine: "2 cores shared with other work",
    target: "100k points scored by the model in < 60 s",
    sizes: figures,
  };
}

const childRequest = process.env.PMS_BENCH_EVAL_CHILD;
if (childRequest && process.send) {
  const { points, items, modelKind } = JSON.parse(childRequest) as { points: number; items: number; modelKind: string };
  const figures = await measure(points, items, modelKind);
  process.send(figures, () => process.exit(0));
}
