import { StateMachine } from "aws-local-stepfunctions";
import type {
  DbtRunState,
  DeploymentState,
  EvaluationResult,
  ExtractState,
  RegistrationResult,
  ServedModelCheckResult,
  SmokeTestResult,
} from "../../../core/pipeline/contracts.ts";
import { DEPLOY_MODES, parseExecutionInput } from "../../../core/pipeline/execution-input.ts";
import { PrepareRunEventSchema } from "../../../core/pipeline/prepare-run-event.ts";
import {
  type RunContext,
  runArtifactUris,
  servedTrainingCommand,
  trainingCommand,
} from "../../../core/pipeline/run-context.ts";
import type { PipelineFunctions } from "../../../lib/pipeline/pipeline-functions.ts";
import {
  batchJobLocalResult,
  LAMBDA_TASKS,
  localExecutionContext,
  RETRYING_STATES,
  TRAIN_STATES,
  WAIT_STATES,
} from "../../../lib/pipeline/tasks.ts";
import type { AslDefinition } from "../../../local/asl.ts";

/**
 * Stand-ins for the pipeline's handlers with contract-shaped results. They record what each Task
 * received so tests can assert the data flow of the synthesized definition, and each test replaces
 * the behaviour it is about.
 */
export type FakeHandler = (input: unknown, call: number) => unknown;
export type Fakes = Record<keyof PipelineFunctions | "trainEvaluated" | "trainServed", FakeHandler>;

export const EXECUTION_NAME = "nightly-2024-04-08";

export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export function fakeRunContext(deploy: RunContext["deploy"] = "auto"): RunContext {
  const runId = "20240408T020000Z-nightly";
  const uris = runArtifactUris("s3://pms-artifacts", runId);
  const training = {
    epochs: 3,
    embeddingDim: 32,
    hiddenDim: 64,
    maxLength: 20,
    batchSize: 256,
    learningRate: 0.001,
    negativeSamples: 64,
    dropout: 0.1,
    minItemCount: 2,
    patience: 2,
    seed: 7,
  };
  return {
    runId,
    shortId: "r20240408-nightly",
    executionName: EXECUTION_NAME,
    trigger: "schedule",
    startedAt: "2024-04-08T02:00:00.000Z",
    window: { start: "2024-04-01", end: "2024-04-07" },
    tenant: "default",
    holdoutDays: 1,
    minSessions: 100,
    training,
    gate: ["hr@20 >= 0.1"],
    deploy,
    uris,
    trainingCommand: trainingCommand(runId, uris, training),
    servedTrainingCommand: servedTrainingCommand(runId, uris, training),
  };
}

const dbtRun = (status: DbtRunState["status"], timedOut = false): DbtRunState => ({
  runId: "70403103",
  runUrl: "https://cloud.getdbt.com/deploy/1/projects/2/runs/70403103",
  status,
  finished: status === "success" || status === "error" || status === "cancelled",
  deadline: "2024-04-08T03:00:00.000Z",
  timedOut,
  ...(status === "error" ? { message: "Database Error in model stg_clicks" } : {}),
});

const extract = (finished: boolean): ExtractState => ({
  queryId: "01b2c3d4-0000-1111-0000-000000000001",
  status: finished ? "succeeded" : "running",
  finished,
  manifestUri: "s3://pms-artifacts/runs/20240408T020000Z-nightly/data/manifest.json",
});

export const passingEvaluation: EvaluationResult = {
  passed: true,
  checks: [{ name: "hr@20 >= 0.1", value: 0.31, threshold: 0.1, passed: true }],
  reasons: [],
  reportUri: "s3://pms-artifacts/runs/20240408T020000Z-nightly/report/report.html",
  metricsUri: "s3://pms-artifacts/runs/20240408T020000Z-nightly/report/metrics.json",
};

export const failingEvaluation: EvaluationResult = {
  ...passingEvaluation,
  passed: false,
  checks: [{ name: "hr@20 >= 0.4", value: 0.31, threshold: 0.4, passed: false }],
  reasons: ["hr@20 = 0.3100 is below 0.4"],
};

export const deployment = (status: string, overrides: Partial<DeploymentState> = {}): DeploymentState => ({
  endpointName: "pms-recommender",
  endpointConfigName: "pms-recommender-r20240408-nightly",
  modelName: "pms-model-r20240408-nightly",
  previousEndpointConfigName: "pms-recommender-r20240407-nightly",
  status,
  finished: status !== "Updating" && status !== "Creating",
  succeeded: status === "InService",
  deadline: "2024-04-08T05:00:00.000Z",
  timedOut: false,
  ...overrides,
});

export function passingServedModelCheck(run: RunContext): ServedModelCheckResult {
  const trainedOn = (splits: ("train" | "test")[], lastDay: string) => ({
    splits,
    firstDay: run.window.start,
    lastDay,
    sessions: 1000,
  });
  return {
    passed: true,
    points: 4000,
    maxHitRateDrop: 0.05,
    evaluated: {
      modelUri: run.uris.evaluatedModel,
      "hr@20": 0.6,
      "mrr@20": 0.3,
      trainedOn: trainedOn(["train"], "2024-04-06"),
    },
    served: {
      modelUri: run.uris.model,
      "hr@20": 0.61,
      "mrr@20": 0.31,
      trainedOn: trainedOn(["train", "test"], "2024-04-07"),
    },
  };
}

export const passingSmokeTest: SmokeTestResult = {
  passed: true,
  sessions: 20,
  latencyMs: { p50: 12, max: 40 },
  problems: [],
};

/** The happy path: the dbt run and the endpoint each need two polls, the extract one. */
export function happyFakes(): Fakes {
  return {
    prepareRun: (event) => {
      const { input } = PrepareRunEventSchema.parse(event);
      const parsed = parseExecutionInput(input);
      return fakeRunContext(parsed.deploy ?? DEPLOY_MODES[0]);
    },
    startDbtRun: () => dbtRun("queued"),
    checkDbtRun: (_input, call) => dbtRun(call === 1 ? "running" : "success"),
    cancelDbtRun: () => dbtRun("cancelled", true),
    startExtract: () => extract(false),
    checkExtract: () => ({ ...extract(true), manifest: undefined }),
    trainEvaluated: (input) => {
      const { JobName } = input as { JobName: string };
      return batchJobLocalResult({ jobId: "5a9c6c1e-0000-4000-8000-000000000001", jobName: JobName });
    },
    trainServed: (input) => {
      const { JobName } = input as { JobName: string };
      return batchJobLocalResult({ jobId: "5a9c6c1e-0000-4000-8000-000000000002", jobName: JobName });
    },
    evaluate: () => passingEvaluation,
    checkServedModel: (state) => {
      const { run } = state as { run: RunContext };
      return passingServedModelCheck(run);
    },
    registerModel: (state): RegistrationResult => {
      const { evaluation, run } = state as { evaluation: EvaluationResult; run: RunContext };
      return {
        modelPackageArn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms/7",
        approvalStatus: evaluation.passed || run.deploy === "force" ? "Approved" : "Rejected",
      };
    },
    startDeployment: () => deployment("Updating"),
    checkDeployment: (_input, call) => deployment(call === 1 ? "Updating" : "InService"),
    smokeTest: () => passingSmokeTest,
    rollBackDeployment: () => ({ endpointName: "pms-recommender", restoredEndpointConfigName: "previous" }),
    cleanUpDeployments: () => ({ deleted: ["pms-recommender-r20240401-nightly"] }),
  };
}

export interface LocalRun {
  readonly status: "SUCCEEDED" | "FAILED";
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Names of the states entered, in order. */
  readonly entered: string[];
  /** What each Task received, per fake, in call order. */
  readonly calls: Record<keyof Fakes, unknown[]>;
  readonly retries: string[];
}

// Constructing a StateMachine validates the definition, which costs more than a whole fake run.
const machines = new WeakMap<AslDefinition, StateMachine>();
function machineFor(asl: AslDefinition): StateMachine {
  let machine = machines.get(asl);
  if (machine === undefined) {
    machine = new StateMachine(asl as never);
    machines.set(asl, machine);
  }
  return machine;
}

/**
 * Runs the definition with aws-local-stepfunctions: every Task overridden by its fake, every Wait
 * and retry back-off set to 0 ms.
 */
export async function runLocally(asl: AslDefinition, input: unknown, fakes: Fakes): Promise<LocalRun> {
  const calls = Object.fromEntries(Object.keys(fakes).map((key) => [key, [] as unknown[]])) as LocalRun["calls"];
  const handlerFor = (key: keyof Fakes) => async (taskInput: unknown) => {
    calls[key].push(structuredClone(taskInput));
    return fakes[key](taskInput, calls[key].length);
  };
  const taskResourceLocalHandlers = Object.fromEntries([
    ...Object.values(LAMBDA_TASKS).map((spec) => [
      spec.stateName,
      async (taskInput: unknown) => spec.wrapLocalResult(await handlerFor(spec.functionKey)(taskInput)),
    ]),
    [TRAIN_STATES.evaluated, handlerFor("trainEvaluated")],
    [TRAIN_STATES.served, handlerFor("trainServed")],
  ]);
  const machine = machineFor(asl);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((name) => [name, 0])),
      retryIntervalOverrides: Object.fromEntries(RETRYING_STATES.map((name) => [name, 0])),
    },
    context: localExecutionContext(EXECUTION_NAME) as never,
  });
  type EventLog = typeof execution.eventLogs extends AsyncGenerator<infer Event> ? Event : never;
  const events: EventLog[] = [];
  const collected = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  let output: unknown;
  try {
    output = await execution.result;
  } catch {
    // The ExecutionFailed event below carries the Error and Cause.
  }
  await collected;
  const entered = events.flatMap((event) => (event.type === "StateEntered" ? [event.state.name] : []));
  const retries = events.flatMap((event) => (event.type === "StateRetried" ? [event.state.name] : []));
  const failed = events.find((event) => event.type === "ExecutionFailed");
  if (failed !== undefined && failed.type === "ExecutionFailed") {
    return { status: "FAILED", error: failed.Error, cause: String(failed.Cause), entered, calls, retries };
  }
  return { status: "SUCCEEDED", output, entered, calls, retries };
}
