import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { metricKey } from "../../core/evaluation/metrics.ts";
import type { EvaluationSummary } from "../../core/evaluation/suite.ts";
import type { TrainingMetrics } from "../../core/model/training-metrics.ts";
import { PIPELINE_METRICS } from "./metric-names.ts";

/** The k the pipeline's headline figures are reported at. */
const HEADLINE_K = 20;

/**
 * Evaluate's figures as metrics: the challenger's HR@20 and MRR@20, the gate's verdict (1 passed,
 * 0 failed) and the training job's seconds in its training passes (when training-metrics.json was
 * there to read). Stored on `metrics`; `logMetrics` flushes them as EMF when the invocation ends.
 */
export function recordEvaluation(
  metrics: Metrics,
  summary: EvaluationSummary,
  training: TrainingMetrics | undefined,
): void {
  const challenger = summary.challenger.metrics;
  const hitRate = challenger[metricKey("hr", HEADLINE_K)];
  const mrr = challenger[metricKey("mrr", HEADLINE_K)];
  if (hitRate !== undefined) metrics.addMetric(PIPELINE_METRICS.hitRateAt20, MetricUnit.NoUnit, hitRate);
  if (mrr !== undefined) metrics.addMetric(PIPELINE_METRICS.mrrAt20, MetricUnit.NoUnit, mrr);
  metrics.addMetric(PIPELINE_METRICS.gatePassed, MetricUnit.Count, summary.gate.passed ? 1 : 0);
  if (training)
    metrics.addMetric(PIPELINE_METRICS.trainingSeconds, MetricUnit.Seconds, training.totals.trainingSeconds);
}

const RegisteredStateSchema = z.looseObject({
  registration: z.looseObject({ modelPackageArn: z.string().min(1) }).optional(),
});

/**
 * The model package version a finished deployment serves, from `$.registration.modelPackageArn`
 * (`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`), as a metric; nothing
 * when the state holds no registered version (a local run's registry names versions otherwise).
 */
export function recordDeployedVersion(metrics: Metrics, state: unknown): number | undefined {
  const parsed = RegisteredStateSchema.safeParse(state);
  const arn = parsed.success ? parsed.data.registration?.modelPackageArn : undefined;
  const version = arn ? /:model-package\/[^/]+\/(\d+)$/.exec(arn)?.[1] : undefined;
  if (version === undefined) return undefined;
  metrics.addMetric(PIPELINE_METRICS.deployedModelVersion, MetricUnit.Count, Number(version));
  return Number(version);
}
