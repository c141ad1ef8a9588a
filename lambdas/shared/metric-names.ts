/**
 * The pipeline's own CloudWatch metrics (Powertools Metrics, embedded metric format): one namespace,
 * each metric with the `service` dimension Powertools adds (the function's name). The dashboard and
 * alarms (lib/constructs/pipeline-monitoring.ts) read these names; a leaf module so the CDK app can
 * import it without the handlers' dependencies.
 */
export const METRICS_NAMESPACE = "PostModernStack";

export const PIPELINE_METRICS = {
  /** The challenger's HR@20 on the test split (Evaluate). */
  hitRateAt20: "HitRateAt20",
  /** The challenger's MRR@20 on the test split (Evaluate). */
  mrrAt20: "MrrAt20",
  /** 1 when the quality gate passed, 0 when it failed (Evaluate). */
  gatePassed: "GatePassed",
  /** Seconds the training job spent in its training passes (Evaluate, from training-metrics.json). */
  trainingSeconds: "TrainingSeconds",
  /** The model package version now serving (Clean up old deployments, the last step of a deployment). */
  deployedModelVersion: "DeployedModelVersion",
} as const;
