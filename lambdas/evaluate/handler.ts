import { z } from "zod";
import { readSessions } from "../../core/data/session-parquet.ts";
import { type Champion, type ChampionSource, championForTestSpan } from "../../core/evaluation/champion.ts";
import { productsPrefix, readItemAttributes } from "../../core/evaluation/item-attributes.ts";
import { readPreviousProfile } from "../../core/evaluation/profile.ts";
import { type ReportMetadata, writeReport } from "../../core/evaluation/report/index.ts";
import { type EvaluationSummary, runEvaluationSuite, type SuiteOptions } from "../../core/evaluation/suite.ts";
import type { ModelMetadata } from "../../core/model/load.ts";
import type { Recommender } from "../../core/model/recommender.ts";
import type { TrainingMetrics } from "../../core/model/training-metrics.ts";
import { type DataManifest, type EvaluationResult, PIPELINE_ERRORS } from "../../core/pipeline/contracts.ts";
import type { RunArtifactUris } from "../../core/pipeline/run-context.ts";
import type { ArtifactStore } from "../../core/ports/artifact-store.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const TASK = "Evaluate the model";

/** The part of the execution state this Task reads (the rest passes through untouched). */
const EvaluateEventSchema = z.looseObject({
  run: z.looseObject({
    runId: z.string().min(1),
    executionName: z.string().min(1),
    trigger: z.string(),
    startedAt: z.string(),
    window: z.looseObject({ start: z.string(), end: z.string() }),
    tenant: z.string(),
    deploy: z.string(),
    gate: z.array(z.string()).min(1),
    training: z.record(z.string(), z.unknown()).optional(),
    uris: z.looseObject({
      run: z.string().min(1),
      model: z.string().min(1),
      evaluatedModel: z.string().min(1),
      evaluatedTrainingMetrics: z.string().min(1),
      report: z.string().min(1),
      metrics: z.string().min(1),
      data: z.looseObject({ train: z.string().min(1), test: z.string().min(1), manifest: z.string().min(1) }),
    }),
  }),
});

/** What evaluation needs of a loaded model; `LoadedModel` from core/model/load.ts is one. */
export type EvaluatedModel = Recommender & {
  readonly metadata?: ModelMetadata;
  readonly backend?: string;
  dispose?(): void;
};

export interface EvaluateDependencies {
  readonly store: ArtifactStore;
  readonly championSource: ChampionSource;
  /** `loadModelForScoring` in production; tests and benchmarks pass any recommender. */
  readonly loadModel: (store: ArtifactStore, modelUri: string) => Promise<EvaluatedModel>;
  readonly options?: SuiteOptions;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Told what was measured once the report is written (the Lambda emits it as CloudWatch metrics). */
  readonly record?: (summary: EvaluationSummary, trainingMetrics: TrainingMetrics | undefined) => void;
  readonly now?: () => Date;
}

/** A terminal failure of the stage: the Task's error name is the pipeline's `EvaluationFailed`. */
export class EvaluationFailedError extends Error {
  override readonly name = PIPELINE_ERRORS.evaluationFailed;
}

async function optionalJson<T>(store: ArtifactStore, uri: string): Promise<T | undefined> {
  if (!(await store.exists(uri))) return undefined;
  return JSON.parse(await store.getText(uri)) as T;
}

async function step<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EvaluationFailedError(`${what}: ${message}`, { cause: error });
  }
}

/**
 * "Evaluate the model": scores the trained model, the baselines and the champion on the run's test
 * split, runs the behavioural tests, evaluates the gate and writes `report.html` + `metrics.json`.
 * Returns the verdict; the deploy decision (`$.run.deploy`) is the state machine's Choice.
 */
export function createEvaluateHandler(deps: EvaluateDependencies) {
  const log = deps.log ?? (() => {});
  return async (event: unknown): Promise<EvaluationResult> => {
    const { run } = parseTaskEvent(EvaluateEventSchema, event, TASK);
    const uris = run.uris as unknown as RunArtifactUris;

    const [testSessions, trainSessions] = await step("Reading the run's sessions", () =>
      Promise.all([readSessions(deps.store, uris.data.test), readSessions(deps.store, uris.data.train)]),
    );
    log("Sessions read", { test: testSessions.length, train: trainSessions.length });
    // The evaluated model never saw the test span; the served one (uris.model) did, so its figures
    // there would flatter it.
    const model = await step(`Loading the model ${uris.evaluatedModel}`, () =>
      deps.loadModel(deps.store, uris.evaluatedModel),
    );
    let championModel: EvaluatedModel | undefined;
    try {
      const champion = await step("Finding the champion", () => deps.championSource.findChampion());
      let championInput: { info: Champion; recommender?: Recommender; loadError?: string } | undefined;
      const [trainingMetrics, manifest, itemAttributes] = await step("Reading the run's metadata", () =>
        Promise.all([
          optionalJson<TrainingMetrics>(deps.store, uris.evaluatedTrainingMetrics),
          optionalJson<DataManifest>(deps.store, uris.data.manifest),
          readItemAttributes(deps.store, productsPrefix(uris)),
        ]),
      );
      if (champion) {
        championInput = { info: champion };
        if (champion.modelUri) {
          const scoring = await championForTestSpan(
            deps.store,
            champion.modelUri,
            manifest?.splits.test.firstDay ?? null,
          );
          const info = scoring.note
            ? { ...champion, description: `${champion.description}; ${scoring.note}` }
            : champion;
          if (scoring.modelUri) {
            try {
              championModel = await deps.loadModel(deps.store, scoring.modelUri);
              championInput = { info, recommender: championModel };
            } catch (error) {
              // A champion whose artifact is gone is judged on its stored metrics, and the report says so.
              const loadError = `loading ${scoring.modelUri} failed: ${error instanceof Error ? error.message : String(error)}`;
              log("Champion not re-scored", { loadError });
              championInput = { info, loadError };
            }
          } else {
            log("Champion not re-scored", { reason: scoring.note });
            championInput = { info: champion, loadError: scoring.note };
          }
        } else {
          championInput = { info: champion, loadError: "the registry gives no model artifact" };
        }
      }

      const previousProfile = championInput?.info.modelUri
        ? await readPreviousProfile(deps.store, championInput.info.modelUri)
        : undefined;
      const summary = await step("Scoring", () =>
        runEvaluationSuite({
          challenger: model,
          trainSessions,
          testSessions,
          gate: run.gate,
          ...(championInput ? { champion: championInput } : {}),
          ...(itemAttributes ? { itemAttributes } : {}),
          ...(previousProfile ? { previousProfile } : {}),
          options: { ...deps.options, log },
        }),
      );
      const metadata: ReportMetadata = {
        runId: run.runId,
        executionName: run.executionName,
        trigger: run.trigger,
        startedAt: run.startedAt,
        window: run.window,
        tenant: run.tenant,
        deploy: run.deploy,
        modelUri: uris.evaluatedModel,
        servedModelUri: uris.model,
        ...(run.training ? { hyperparameters: run.training } : {}),
        ...(model.backend ? { backend: model.backend } : {}),
        ...(model.metadata ? { model: model.metadata } : {}),
        ...(manifest ? { manifest } : {}),
        ...(trainingMetrics ? { trainingMetrics } : {}),
        generatedAt: (deps.now?.() ?? new Date()).toISOString(),
      };
      await step("Writing the report", () => writeReport(deps.store, uris, summary, metadata));
      deps.record?.(summary, trainingMetrics);
      log("Evaluation written", { passed: summary.gate.passed, reportUri: uris.report, seconds: summary.seconds });
      return {
        passed: summary.gate.passed,
        checks: summary.gate.checks,
        reasons: summary.gate.reasons,
        reportUri: uris.report,
        metricsUri: uris.metrics,
      };
    } finally {
      model.dispose?.();
      championModel?.dispose?.();
    }
  };
}
