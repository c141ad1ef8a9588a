/**
 * `npm run bench -- nextday [--data <clicks.tsv>] [--window 2014-04-01..2014-04-04]… [--no-pipeline]
 *   [--hyperparameters <json>] [--neighbours <json>]… [--validation-share 0.05]`
 *
 * Next-day quality: what a shopper gets the day after the model's window. For each window (default
 * 2014-04-01..04-04 and 2014-04-01..04-05 of the RecSys 2015 sample, next days 04-05 and 04-06):
 *
 * - **the pipeline**: the click log loaded into a scratch `$PMS_HOME` (`pms data load --format
 *   rsc15`), `pms run` on the window, then the **served endpoint** asked over HTTP for every test
 *   point (when the run's gate kept its model off the endpoint, that model is put behind it with
 *   `pms serve --model` and the figures say so);
 * - in the same process, on the same window: **V-SkNN** (plain, the evaluation's baseline), and the
 *   model's training code fed every session of the window as the served model is (less a
 *   `--validation-share` sample that stops training and tunes the blend, and that the neighbours
 *   index) — the **hybrid**, and **its GRU alone** (same weights, no neighbours).
 *   Each `--neighbours` JSON (`NeighbourSettings` fields, e.g. `{"weight": 0.25, "positionDecay":
 *   1.5}`) adds a row: the same GRU with those neighbour settings, for tuning without retraining.
 *
 * Protocol (session-rec's): test = the sessions that start on the day after the window; their
 * clicks on items never seen in the window are dropped, then sessions with fewer than two clicks;
 * every position of every test session predicts the next click from the whole prefix; HR@20 and
 * MRR@20 over all points; items already in the session are not filtered.
 *
 * Training and the pipeline share two cores with other work: run under the shared lock.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { countItems } from "../core/baselines/popularity.ts";
import { SKNN_WEIGHTINGS, SknnRecommender } from "../core/baselines/sknn.ts";
import { type DayWindow, parseDayWindow, readClickLog, splitByWindow } from "../core/data/click-log.ts";
import { VALIDATION_SHARE } from "../core/data/extract.ts";
import { scoreRecommender, testPoints } from "../core/evaluation/metrics.ts";
import { POPULAR_FALLBACK_SIZE, trainedModelMetadata } from "../core/model/artifact.ts";
import { selectBackend } from "../core/model/backend.ts";
import { recommenderOf } from "../core/model/load.ts";
import { type NeighbourSettings, SessionNeighbours } from "../core/model/neighbours.ts";
import { parseTrainingParameters } from "../core/model/parameters.ts";
import { SeededRandom } from "../core/model/random.ts";
import type { Recommender } from "../core/model/recommender.ts";
import { SessionRecommender } from "../core/model/session-recommender.ts";
import { trainSessionModel } from "../core/model/training.ts";
import type { TrainingParameters } from "../core/pipeline/execution-input.ts";
import type { Recommendation } from "../core/ports/model-host.ts";
import { pmsHomeAt } from "../local/home.ts";
import { freePort } from "../local/model-host.ts";
import { type LocalRunRecord, listRunRecords } from "../local/run-record.ts";

const execute = promisify(execFile);
const ROOT = resolve(new URL("..", import.meta.url).pathname);
const DEFAULT_WINDOWS = ["2014-04-01..2014-04-04", "2014-04-01..2014-04-05"];
/** The endpoint takes up to 1,000 sessions a request. */
const REQUEST_SESSIONS = 500;

const round = (value: number, digits = 4) => Number(value.toFixed(digits));

function flag(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function flags(args: string[], name: string): string[] {
  return args.flatMap((arg, index) =>
    arg === name && args[index + 1] !== undefined ? [args[index + 1] as string] : [],
  );
}

function neighbourVariant(text: string): Partial<NeighbourSettings> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`--neighbours ${text}: not JSON (${(error as Error).message})`, { cause: error });
  }
  const allowed = ["weight", "neighbours", "sampleSize", ...SKNN_WEIGHTINGS] as string[];
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--neighbours ${text}: expected an object with some of ${allowed.join(", ")}`);
  }
  for (const [field, value] of Object.entries(parsed)) {
    if (!allowed.includes(field) || (value !== null && typeof value !== "number")) {
      throw new Error(`--neighbours ${text}: ${field} must be one of ${allowed.join(", ")} with a number (or null)`);
    }
  }
  return parsed as Partial<NeighbourSettings>;
}

/** The served endpoint as a `Recommender`: POST /invocations, the serving contract of docs/model.md. */
class EndpointRecommender implements Recommender {
  readonly name = "endpoint";
  constructor(private readonly url: string) {}

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    const response = await fetch(`${this.url}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sessions, k }),
    });
    if (!response.ok) throw new Error(`${this.url}/invocations answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { recommendations: Recommendation[][] }).recommendations;
  }
}

type Points = ReturnType<typeof testPoints>;

async function score(recommender: Recommender, points: Points, itemCounts: Map<string, number>) {
  const scored = await scoreRecommender(recommender, points, { itemCounts, ks: [20], batchSize: REQUEST_SESSIONS });
  return {
    "hr@20": round(scored.metrics["hr@20"] ?? 0),
    "mrr@20": round(scored.metrics["mrr@20"] ?? 0),
    scoringSeconds: round(scored.seconds, 1),
  };
}

async function pms(home: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execute(process.execPath, [join(ROOT, "bin/pms.mjs"), ...args], {
      cwd: ROOT,
      env: { ...process.env, PMS_HOME: home },
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    const tail = `${failed.stdout ?? ""}\n${failed.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`pms ${args.join(" ")} failed:\n${tail}`, { cause: error });
  }
}

interface PipelineFigures {
  readonly runId: string;
  readonly status: string;
  readonly deployed: boolean;
  /** Wall seconds of `pms run`, and of each state as the run record times it. */
  readonly runSeconds: number;
  readonly stages: Record<string, number>;
  /** The run's own evaluation (its test split: the window's last day). */
  readonly evaluation?: Readonly<Record<string, number>>;
  readonly served: { "hr@20": number; "mrr@20": number; scoringSeconds: number; how: string };
}

/** `pms run` on the window in its own home, then its endpoint scored over HTTP. */
async function pipeline(
  data: string,
  window: DayWindow,
  training: Partial<TrainingParameters> | undefined,
  points: Points,
  itemCounts: Map<string, number>,
): Promise<PipelineFigures> {
  const home = await mkdtemp(join(tmpdir(), "pms-bench-nextday-"));
  try {
    await pms(home, ["data", "load", data, "--format", "rsc15", "--plain"]);
    const input = { window, ...(training ? { training } : {}) };
    const port = await freePort();
    const started = performance.now();
    try {
      await pms(home, ["run", "--input", JSON.stringify(input), "--port", String(port), "--plain"]);
    } catch (error) {
      // A run that fails its gate exits 1 with a record: reported below rather than thrown.
      console.error((error as Error).message);
    }
    const runSeconds = (performance.now() - started) / 1000;
    const [record] = (await listRunRecords(pmsHomeAt(home))) as LocalRunRecord[];
    if (!record) throw new Error(`pms run left no run record in ${home}`);
    let how = "the endpoint `pms run` deployed";
    if (!record.deployed) {
      // The model the run would have served (its gate may have kept it back): scored all the same.
      if (!record.modelUri || !existsSync(record.modelUri)) {
        throw new Error(
          `pms run ${record.status} without a model: ${record.error?.name ?? ""} ${record.error?.cause ?? ""}`,
        );
      }
      await pms(home, ["serve", "--model", record.modelUri, "--port", String(port)]);
      how = `not deployed by the run (${record.gate?.passed === false ? `gate: ${record.gate.reasons.join("; ")}` : record.status}): its model served with \`pms serve --model\``;
    }
    const url = `http://127.0.0.1:${port}`;
    try {
      const served = await score(new EndpointRecommender(url), points, itemCounts);
      return {
        runId: record.runId,
        status: record.status,
        deployed: record.deployed === true,
        runSeconds: round(runSeconds, 1),
        stages: Object.fromEntries(record.stages.map((stage) => [stage.state, round(stage.seconds, 1)])),
        ...(record.metrics ? { evaluation: record.metrics } : {}),
        served: { ...served, how },
      };
    } finally {
      await pms(home, ["serve", "--stop"]);
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

async function inProcess(
  train: ReturnType<typeof splitByWindow>["train"],
  parameters: TrainingParameters,
  validationShare: number,
  variants: readonly Partial<NeighbourSettings>[],
  points: Points,
  itemCounts: Map<string, number>,
  backend: string,
) {
  const timed = train.map((session) => ({ items: session.items, session_start_ms: session.startMs }));
  const sknnStarted = performance.now();
  const sknn = new SknnRecommender(timed);
  const sknnBuildSeconds = (performance.now() - sknnStarted) / 1000;
  const rows: Record<string, unknown> = {
    "V-SkNN": { ...(await score(sknn, points, itemCounts)), buildSeconds: round(sknnBuildSeconds, 2) },
  };

  // As the served model is trained: every session of the window, less the validation sample that
  // stops training and tunes the blend (drawn at random here, by a hash of the session id in the
  // pipeline's Extract); the neighbours index the validation sessions too.
  const sampler = new SeededRandom(parameters.seed);
  const isValidation = timed.map(() => sampler.next() < validationShare);
  const fitted = timed.filter((_, index) => !isValidation[index]);
  const validation = timed.filter((_, index) => isValidation[index]);
  const started = performance.now();
  const trained = await trainSessionModel(fitted, validation, parameters, {
    onEpochEnd: (epoch) =>
      console.error(`  epoch ${epoch.epoch}: loss ${epoch.loss.toFixed(4)} ${epoch.seconds.toFixed(1)}s`),
  });
  const trainingSeconds = (performance.now() - started) / 1000;
  const metadata = trainedModelMetadata(trained, {
    runId: "bench-nextday",
    hyperparameters: parameters,
    codeVersion: "bench",
    trainedOn: backend,
  });
  const popular = trained.vocabulary.popular(POPULAR_FALLBACK_SIZE);
  rows["hybrid, trained on the whole window"] = {
    ...(await score(recommenderOf({ ...trained, popular, metadata }), points, itemCounts)),
    neighbours: trained.neighbours.settings,
    validationSessions: validation.length,
    trainingSeconds: round(trainingSeconds, 1),
    epochsRun: trained.epochs.length,
    bestEpoch: trained.bestEpoch,
    validation: trained.blend,
  };
  rows["its GRU alone"] = await score(
    new SessionRecommender(trained.model, trained.vocabulary, popular, metadata, backend),
    points,
    itemCounts,
  );
  for (const variant of variants) {
    const settings = { ...trained.neighbours.settings, ...variant } as Record<string, number | null | undefined>;
    for (const [field, value] of Object.entries(settings)) if (value === null) delete settings[field];
    const neighbours = new SessionNeighbours(
      settings as unknown as NeighbourSettings,
      trained.neighbours.sessions,
      trained.vocabulary,
    );
    rows[`same GRU, neighbours ${JSON.stringify(variant)}`] = await score(
      recommenderOf({ ...trained, neighbours, popular, metadata }),
      points,
      itemCounts,
    );
  }
  trained.model.dispose();
  return rows;
}

export async function run(args: string[]): Promise<unknown> {
  const data = resolve(flag(args, "--data") ?? "../shared/data/yoochoose-clicks-100k_train_full.txt");
  const windowTexts = flags(args, "--window");
  const windows = (windowTexts.length > 0 ? windowTexts : DEFAULT_WINDOWS).map(parseDayWindow);
  const hyperparameters = flag(args, "--hyperparameters");
  const parameters = parseTrainingParameters(hyperparameters);
  const variants = flags(args, "--neighbours").map(neighbourVariant);
  const withPipeline = !args.includes("--no-pipeline");
  const validationShare = Number(flag(args, "--validation-share") ?? VALIDATION_SHARE);
  if (!(validationShare >= 0 && validationShare < 1)) throw new Error("--validation-share must be in [0, 1)");
  const backend = await selectBackend({ log: (line) => console.error(line) });
  const sessions = await readClickLog(data);

  const results = [];
  for (const window of windows) {
    const { train, test, testDay } = splitByWindow(sessions, window);
    if (test.length === 0) throw new Error(`--window ${window.start}..${window.end}: no session starts on ${testDay}`);
    const points = testPoints(test);
    const itemCounts = countItems(train.map((session) => session.items));
    console.error(
      `window ${window.start}..${window.end}: ${train.length} sessions; next day ${testDay}: ${test.length} sessions, ${points.length} points`,
    );
    const recommenders: Record<string, unknown> = {};
    let stages: PipelineFigures | undefined;
    if (withPipeline) {
      stages = await pipeline(
        data,
        window,
        hyperparameters ? JSON.parse(hyperparameters) : undefined,
        points,
        itemCounts,
      );
      recommenders["served endpoint (pms run)"] = stages.served;
    }
    Object.assign(
      recommenders,
      await inProcess(train, parameters, validationShare, variants, points, itemCounts, backend.backend),
    );
    results.push({
      window,
      testDay,
      trainingSessions: train.length,
      testSessions: test.length,
      testPoints: points.length,
      recommenders,
      ...(stages ? { pipeline: { ...stages, served: undefined } } : {}),
    });
    printTable(results.at(-1) as (typeof results)[number]);
  }
  return {
    data,
    backend: backend.backend,
    hyperparameters: parameters,
    results,
    loadAverage: loadavg().map((value) => round(value, 2)),
  };
}

function printTable(result: {
  window: DayWindow;
  testDay: string;
  testPoints: number;
  recommenders: Record<string, unknown>;
  pipeline?: Omit<PipelineFigures, "served"> & { served: undefined };
}) {
  const lines = [
    `\nnext day ${result.testDay} (window ${result.window.start}..${result.window.end}, ${result.testPoints} points)`,
    "| recommender | HR@20 | MRR@20 |",
    "| --- | --- | --- |",
  ];
  for (const [name, figures] of Object.entries(result.recommenders)) {
    const { "hr@20": hr, "mrr@20": mrr } = figures as { "hr@20": number; "mrr@20": number };
    lines.push(`| ${name} | ${hr.toFixed(4)} | ${mrr.toFixed(4)} |`);
  }
  if (result.pipeline) {
    lines.push(
      `pms run ${result.pipeline.runSeconds} s (${result.pipeline.status}, deployed: ${result.pipeline.deployed}):`,
    );
    for (const [state, seconds] of Object.entries(result.pipeline.stages)) {
      if (seconds > 0) lines.push(`  ${state}: ${seconds} s`);
    }
  }
  console.error(lines.join("\n"));
}
