import { z } from "zod";

/**
 * What the deploy Tasks read from the execution state. PrepareRun validated the run already; these
 * schemas check that the state machine handed over the pieces each Task needs (loose: the rest of
 * the state passes through untouched).
 */
export const DeployRunSchema = z.looseObject({
  runId: z.string().min(1),
  shortId: z.string().min(1),
  executionName: z.string().min(1),
  trigger: z.string(),
  window: z.looseObject({ start: z.string(), end: z.string() }),
  tenant: z.string(),
  deploy: z.enum(["auto", "skip", "force"]),
  reason: z.string().optional(),
  uris: z.looseObject({
    model: z.string().min(1),
    evaluatedModel: z.string().min(1),
    report: z.string().min(1),
    metrics: z.string().min(1),
    data: z.looseObject({ test: z.string().min(1), manifest: z.string().min(1) }),
  }),
});

export const EvaluationResultSchema = z.looseObject({
  passed: z.boolean(),
  checks: z.array(z.unknown()),
  reasons: z.array(z.string()),
  reportUri: z.string().min(1),
  metricsUri: z.string().min(1),
});

export const RegistrationResultSchema = z.looseObject({
  modelPackageArn: z.string().min(1),
  approvalStatus: z.enum(["Approved", "Rejected", "PendingManualApproval"]),
});

export const DeploymentStateSchema = z.looseObject({
  endpointName: z.string().min(1),
  endpointConfigName: z.string().min(1),
  modelName: z.string().min(1),
  previousEndpointConfigName: z.string().min(1).nullable(),
  status: z.string(),
  finished: z.boolean(),
  succeeded: z.boolean(),
  deadline: z.string().min(1),
  redriveCount: z.number().int().min(0).optional(),
  timedOut: z.boolean(),
  failureReason: z.string().optional(),
});
