/**
 * What each Task of the state machine returns (its `ResultSelector`/`ResultPath` lands it in the
 * state under the key named in `STATE_KEYS`). The cloud handlers, the local twin and the state
 * machine definition all read these types, so they are the seams between the issues' rooms.
 */
import type { RunContext } from "./run-context.ts";

/** Where each Task's result is placed in the execution state (`$.<key>`). */
export const STATE_KEYS = {
  run: "run",
  transform: "transform",
  extract: "extract",
  train: "train",
  evaluation: "evaluation",
  servedModelCheck: "servedModelCheck",
  registration: "registration",
  deployment: "deployment",
  smokeTest: "smokeTest",
  cleanup: "cleanup",
} as const;

/** The Error names of the pipeline's Fail states. */
export const PIPELINE_ERRORS = {
  invalidInput: "InvalidExecutionInput",
  dbtRunFailed: "DbtRunFailed",
  dbtRunTimedOut: "DbtRunTimedOut",
  extractFailed: "ExtractFailed",
  insufficientData: "InsufficientData",
  trainingFailed: "TrainingFailed",
  evaluationFailed: "EvaluationFailed",
  servedModelRejected: "ServedModelRejected",
  qualityGateFailed: "QualityGateFailed",
  deploymentFailed: "DeploymentFailed",
  smokeTestFailed: "SmokeTestFailed",
  registrationFailed: "RegistrationFailed",
  cleanUpFailed: "CleanUpFailed",
} as const;

export interface PipelineState {
  readonly run: RunContext;
  readonly transform?: DbtRunState;
  readonly extract?: ExtractState;
  readonly train?: TrainingResults;
  readonly evaluation?: EvaluationResult;
  readonly servedModelCheck?: ServedModelCheckResult;
  readonly registration?: RegistrationResult;
  readonly deployment?: DeploymentState;
  readonly smokeTest?: SmokeTestResult;
  readonly cleanup?: CleanupResult;
}

export type DbtRunStatus = "queued" | "starting" | "running" | "success" | "error" | "cancelled";

/** Returned by "Start the dbt run" and refreshed by "Check the dbt run". */
export interface DbtRunState {
  readonly runId: string;
  readonly runUrl: string;
  readonly status: DbtRunStatus;
  readonly finished: boolean;
  /** The poll deadline (ISO time) set at start from the configured timeout. */
  readonly deadline: string;
  /** The execution's redrive count the deadline was set under (core/pipeline/poll-budget.ts). */
  readonly redriveCount?: number;
  readonly timedOut: boolean;
  readonly message?: string;
}

export interface DataManifest {
  readonly window: { readonly start: string; readonly end: string };
  readonly tenant: string;
  readonly holdoutDays: number;
  /** Test = the last `holdoutDays` of sessions; validation = a hash sample of the earlier ones (core/data/extract.ts). */
  readonly splits: Record<
    "train" | "validation" | "test",
    {
      readonly rows: number;
      readonly sessions: number;
      readonly events: number;
      readonly items: number;
      readonly uri: string;
      readonly firstDay: string | null;
      readonly lastDay: string | null;
    }
  >;
  readonly items: number;
  /** sha256 over the splits' content, so a model's metadata pins the data it was trained on. */
  readonly contentHash: string;
  readonly createdAt: string;
}

/** Returned by "Start the extract" and refreshed by "Check the extract". */
export interface ExtractState {
  readonly queryId: string;
  readonly status: "running" | "succeeded";
  readonly finished: boolean;
  readonly manifestUri: string;
  readonly manifest?: DataManifest;
  /** The statistics query counting the unloaded splits, once the unload has succeeded (Snowflake). */
  readonly statisticsQueryId?: string;
  /** The extract's deadline (ISO time) when it has a timeout (core/pipeline/poll-budget.ts). */
  readonly deadline?: string;
  /** The execution's redrive count the deadline was set under. */
  readonly redriveCount?: number;
}

export interface TrainingJobResult {
  readonly jobId: string;
  readonly status: string;
}

/** Returned by "Train the evaluated and the served model": one Batch job per model. */
export interface TrainingResults {
  readonly evaluated: TrainingJobResult;
  readonly served: TrainingJobResult;
}

/** What a model learned from: the run's splits it was trained on and the days they span. */
export interface TrainedOn {
  readonly splits: readonly ("train" | "validation" | "test")[];
  /** First and last day of those splits' sessions (UTC), when the manifest gives them. */
  readonly firstDay: string | null;
  readonly lastDay: string | null;
  readonly sessions: number;
}

/** A model's GRU (without its neighbours) scored on the validation sample. */
export interface ScoredModel {
  readonly modelUri: string;
  readonly "hr@20": number;
  readonly "mrr@20": number;
  readonly trainedOn: TrainedOn;
}

/** Returned by "Check the served model against the evaluated one" when the served model may ship. */
export interface ServedModelCheckResult {
  readonly passed: true;
  /** Next-item predictions scored: every position of every validation session. */
  readonly points: number;
  /** How far below the evaluated model's HR@20 the served one may score before it is rejected. */
  readonly maxHitRateDrop: number;
  readonly evaluated: ScoredModel;
  readonly served: ScoredModel;
}

export interface GateCheckResult {
  readonly name: string;
  readonly value: number;
  readonly threshold: number;
  readonly passed: boolean;
  readonly detail?: string;
}

export interface EvaluationResult {
  readonly passed: boolean;
  readonly checks: readonly GateCheckResult[];
  readonly reasons: readonly string[];
  readonly reportUri: string;
  readonly metricsUri: string;
}

export interface RegistrationResult {
  readonly modelPackageArn: string;
  readonly approvalStatus: "Approved" | "Rejected" | "PendingManualApproval";
}

/** Returned by "Start the deployment" and refreshed by "Check the endpoint". */
export interface DeploymentState {
  readonly endpointName: string;
  readonly endpointConfigName: string;
  readonly modelName: string;
  readonly previousEndpointConfigName: string | null;
  readonly status: string;
  readonly finished: boolean;
  readonly succeeded: boolean;
  readonly deadline: string;
  /** The execution's redrive count the deadline was set under (core/pipeline/poll-budget.ts). */
  readonly redriveCount?: number;
  readonly timedOut: boolean;
  readonly failureReason?: string;
}

export interface SmokeTestResult {
  readonly passed: boolean;
  readonly sessions: number;
  readonly latencyMs: { readonly p50: number; readonly max: number };
  readonly problems: readonly string[];
}

/** Returned by "Clean up old deployments". */
export interface CleanupResult {
  readonly endpointName: string;
  /** Endpoint configs kept: the newest deployments, the serving one and the one before it. */
  readonly keptEndpointConfigs: readonly string[];
  readonly deletedEndpointConfigs: readonly string[];
  readonly deletedModels: readonly string[];
}
