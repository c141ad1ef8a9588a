import { z } from "zod";
import { countItems } from "../../core/baselines/popularity.ts";
import { readSessions } from "../../core/data/session-parquet.ts";
import { scoreRecommender, testPoints } from "../../core/evaluation/metrics.ts";
import { loadModelRecommender } from "../../core/model/load.ts";
import type { Recommender } from "../../core/model/recommender.ts";
import {
  type DataManifest,
  PIPELINE_ERRORS,
  type ScoredModel,
  type ServedModelCheckResult,
  type TrainedOn,
} from "../../core/pipeline/contracts.ts";
import type { ArtifactStore } from "../../core/ports/artifact-store.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const TASK = "Check the served model against the evaluated one";

/**
 * How far below the evaluated model's validation HR@20 the served model may score. Neither GRU
 * learned from the validation sample and the served one learned from more (the test span), so it
 * scores about the same or better; a drop of this size means the refit is broken (wrong data, a
 * failed restore, a corrupt archive), not unlucky. The evaluated and the served GRU's figures on
 * the RSC15 sample are in docs/state-machine.md.
 */
export const MAX_HIT_RATE_DROP = 0.05;

/**
 * The check's loader: the GRU alone. The validation sessions sit in both models' neighbour indexes,
 * where each would vote for itself, so a blend's figures on them say little; the GRU is the part the
 * refit trains on different data, and the one a broken refit breaks.
 */
export function loadGruAlone(store: ArtifactStore, modelUri: string): Promise<CheckedModel> {
  return loadModelRecommender(store, modelUri, { withNeighbours: false });
}

const CheckServedModelEventSchema = z.looseObject({
  run: z.looseObject({
    runId: z.string().min(1),
    uris: z.looseObject({
      model: z.string().min(1),
      evaluatedModel: z.string().min(1),
      data: z.looseObject({ validation: z.string().min(1), manifest: z.string().min(1) }),
    }),
  }),
});

/** What the check needs of a loaded model; `LoadedModel` from core/model/load.ts is one. */
export type CheckedModel = Recommender & { dispose?(): void };

export interface CheckServedModelDependencies {
  readonly store: ArtifactStore;
  /** `loadGruAlone` in production. */
  readonly loadModel: (store: ArtifactStore, modelUri: string) => Promise<CheckedModel>;
  /** @default MAX_HIT_RATE_DROP */
  readonly maxHitRateDrop?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** The served model scores clearly worse than the evaluated one: nothing is registered or deployed. */
export class ServedModelRejectedError extends Error {
  override readonly name = PIPELINE_ERRORS.servedModelRejected;
}

/** The check could not be made (unreadable data or model): the run fails as an evaluation failure. */
export class ServedModelCheckError extends Error {
  override readonly name = PIPELINE_ERRORS.evaluationFailed;
}

async function step<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new ServedModelCheckError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** The splits a model's GRU learned from, and the days and sessions they hold (from the extract's manifest). */
export function trainedOn(manifest: DataManifest, splits: readonly ("train" | "test")[]): TrainedOn {
  const parts = splits.map((split) => manifest.splits[split]);
  const days = (pick: (part: (typeof parts)[number]) => string | null) =>
    parts.map(pick).filter((day): day is string => day !== null);
  const firstDays = days((part) => part.firstDay).sort();
  const lastDays = days((part) => part.lastDay).sort();
  return {
    splits: [...splits],
    firstDay: firstDays[0] ?? null,
    lastDay: lastDays[lastDays.length - 1] ?? null,
    sessions: parts.reduce((sum, part) => sum + part.sessions, 0),
  };
}

const format = (value: number) => value.toFixed(4);

/**
 * "Check the served model against the evaluated one": the served model is trained on the whole
 * window, so no held-out day is left to judge it on; this scores its GRU and the evaluated model's on
 * the validation sample (which neither learned from) and rejects it when it is clearly worse, so a
 * broken refit never ships. The result records both models and what each learned from.
 */
export function createCheckServedModelHandler(deps: CheckServedModelDependencies) {
  const log = deps.log ?? (() => {});
  const maxHitRateDrop = deps.maxHitRateDrop ?? MAX_HIT_RATE_DROP;
  return async (event: unknown): Promise<ServedModelCheckResult> => {
    const { run } = parseTaskEvent(CheckServedModelEventSchema, event, TASK);
    const { uris } = run;
    const [validation, manifest] = await step("Reading the validation sample and the manifest", () =>
      Promise.all([
        readSessions(deps.store, uris.data.validation),
        deps.store.getText(uris.data.manifest).then((text) => JSON.parse(text) as DataManifest),
      ]),
    );
    const points = testPoints(validation);
    if (points.length === 0)
      throw new ServedModelCheckError(
        `The validation sample ${uris.data.validation} has no session with two or more items: the served model cannot be checked`,
      );
    const itemCounts = countItems(validation);
    const score = async (modelUri: string) => {
      const model = await step(`Loading ${modelUri}`, () => deps.loadModel(deps.store, modelUri));
      try {
        const scored = await step(`Scoring ${modelUri}`, () =>
          scoreRecommender(model, points, { ks: [20], itemCounts }),
        );
        return { "hr@20": scored.metrics["hr@20"] ?? 0, "mrr@20": scored.metrics["mrr@20"] ?? 0 };
      } finally {
        model.dispose?.();
      }
    };
    // One model in memory at a time: the function's memory holds one model and its scoring threads.
    const evaluatedFigures = await score(uris.evaluatedModel);
    const servedFigures = await score(uris.model);
    const evaluated: ScoredModel = {
      modelUri: uris.evaluatedModel,
      ...evaluatedFigures,
      trainedOn: trainedOn(manifest, ["train"]),
    };
    const served: ScoredModel = {
      modelUri: uris.model,
      ...servedFigures,
      trainedOn: trainedOn(manifest, ["train", "test"]),
    };
    const drop = evaluated["hr@20"] - served["hr@20"];
    log("Served model checked", {
      points: points.length,
      evaluatedHr20: evaluated["hr@20"],
      servedHr20: served["hr@20"],
      drop,
    });
    if (drop > maxHitRateDrop)
      throw new ServedModelRejectedError(
        `The served model (${uris.model}, trained on ${served.trainedOn.splits.join(" + ")}) scores HR@20 ${format(served["hr@20"])} on the ${points.length} validation points, ` +
          `${format(drop)} below the evaluated model's ${format(evaluated["hr@20"])} (at most ${maxHitRateDrop} is allowed): nothing was registered or deployed; ` +
          `see the served training's log (training-metrics.json beside the model) for what went wrong.`,
      );
    return { passed: true, points: points.length, maxHitRateDrop, evaluated, served };
  };
}
