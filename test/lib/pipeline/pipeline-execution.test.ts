import { beforeAll, describe, expect, it } from "vitest";
import { PIPELINE_ERRORS } from "../../../core/pipeline/contracts.ts";
import { STATE_NAMES as S } from "../../../lib/pipeline/state-names.ts";
import { batchJobLocalFailure, localExecutionContext } from "../../../lib/pipeline/tasks.ts";
import { type AslDefinition, definitionFromStack } from "../../../local/asl.ts";
import {
  deployment,
  EXECUTION_NAME,
  type Fakes,
  failingEvaluation,
  fakeRunContext,
  happyFakes,
  namedError,
  passingEvaluation,
  passingServedModelCheck,
  runLocally,
} from "./pipeline-fakes.ts";
import { pipelineTestStack, TEST_JOB_QUEUE_ARN } from "./pipeline-test-stack.ts";

// The synthesized definition, executed by aws-local-stepfunctions with every Task overridden.
let asl: AslDefinition;

beforeAll(() => {
  asl = definitionFromStack(pipelineTestStack().stack);
});

const run = (input: unknown, changes: Partial<Fakes> = {}) => runLocally(asl, input, { ...happyFakes(), ...changes });

const TRANSFORM = [S.startDbtRun, S.waitForDbtRun, S.checkDbtRun, S.isDbtRunFinished];
const EXTRACT = [S.startExtract, S.waitForExtract, S.checkExtract, S.isExtractFinished];
const UNTIL_GATE = [
  S.prepareRun,
  ...TRANSFORM,
  S.waitForDbtRun,
  S.checkDbtRun,
  S.isDbtRunFinished,
  ...EXTRACT,
  S.train,
  S.trainEvaluated,
  S.trainServed,
  S.evaluate,
  S.checkServedModel,
  S.registerModel,
  S.shouldDeploy,
];
const DEPLOY = [
  S.startDeployment,
  S.waitForEndpoint,
  S.checkEndpoint,
  S.isEndpointInService,
  S.waitForEndpoint,
  S.checkEndpoint,
  S.isEndpointInService,
];
const DEPLOY_TASKS = [
  "startDeployment",
  "checkDeployment",
  "smokeTest",
  "rollBackDeployment",
  "cleanUpDeployments",
] as const;

describe("the pipeline state machine, run locally", () => {
  it("runs every stage in order on the happy path and hands each Task the state it needs", async () => {
    const result = await run({});

    expect(result.status).toBe("SUCCEEDED");
    expect(result.entered).toEqual([
      ...UNTIL_GATE,
      ...DEPLOY,
      S.smokeTest,
      S.didSmokeTestPass,
      S.cleanUpDeployments,
      S.modelIsServing,
    ]);

    const [prepareEvent] = result.calls.prepareRun;
    expect(prepareEvent).toEqual({
      input: {},
      execution: {
        name: EXECUTION_NAME,
        id: localExecutionContext(EXECUTION_NAME).Execution.Id,
        startTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    });

    const runContext = fakeRunContext();
    expect(result.calls.startDbtRun).toEqual([{ run: runContext }]);
    expect(result.calls.checkDbtRun[1]).toMatchObject({ run: runContext, transform: { status: "running" } });
    expect(result.calls.startExtract).toEqual([
      { run: runContext, transform: expect.objectContaining({ status: "success" }) },
    ]);

    const batchJob = (jobName: string, command: readonly string[]) => ({
      JobName: jobName,
      JobQueue: TEST_JOB_QUEUE_ARN,
      JobDefinition: expect.stringMatching(/^arn:aws:batch:local:000000000000:job-definition\/TrainingJob/),
      ContainerOverrides: { Command: command },
    });
    expect(result.calls.trainEvaluated).toEqual([
      batchJob(`pms-test-train-${runContext.shortId}`, runContext.trainingCommand),
    ]);
    expect(result.calls.trainServed).toEqual([
      batchJob(`pms-test-refit-${runContext.shortId}`, runContext.servedTrainingCommand),
    ]);
    const [evaluateInput] = result.calls.evaluate as [Record<string, unknown>];
    expect(Object.keys(evaluateInput).sort()).toEqual(["extract", "run", "train", "transform"]);
    expect(evaluateInput.train).toEqual({
      evaluated: { jobId: "5a9c6c1e-0000-4000-8000-000000000001", status: "SUCCEEDED" },
      served: { jobId: "5a9c6c1e-0000-4000-8000-000000000002", status: "SUCCEEDED" },
    });
    // The check runs after the evaluation, and registration gets its record of both models.
    expect(result.calls.checkServedModel[0]).toMatchObject({ evaluation: passingEvaluation });
    expect(result.calls.registerModel[0]).toMatchObject({ servedModelCheck: passingServedModelCheck(runContext) });
    expect(result.calls.registerModel[0]).toMatchObject({ evaluation: passingEvaluation });
    expect(result.calls.smokeTest[0]).toMatchObject({ deployment: { status: "InService", succeeded: true } });

    const output = result.output as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual([
      "cleanup",
      "deployment",
      "evaluation",
      "extract",
      "registration",
      "run",
      "servedModelCheck",
      "smokeTest",
      "train",
      "transform",
    ]);
    expect(output.registration).toMatchObject({ approvalStatus: "Approved" });
  });

  it("fails in Prepare the run with every problem of an invalid input, before any stage runs", async () => {
    const result = await run({ deploy: "sometimes", window: { start: "2024-04-07", end: "2024-04-01" }, epochs: 3 });

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe(PIPELINE_ERRORS.invalidInput);
    expect(result.cause).toContain("deploy:");
    expect(result.cause).toContain("window.end: window.start must be on or before window.end");
    expect(result.cause).toContain("epochs");
    expect(result.entered).toEqual([S.prepareRun, S.inputIsInvalid]);
    expect(result.calls.startDbtRun).toHaveLength(0);
  });

  it("fails DbtRunFailed with the run's URL and message when the dbt run ends in error", async () => {
    const result = await run(
      {},
      {
        checkDbtRun: (input, call) => ({
          ...(happyFakes().checkDbtRun(input, 2) as object),
          status: call === 1 ? "running" : "error",
          finished: call > 1,
          message: "Database Error in model stg_clicks",
        }),
      },
    );

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe(PIPELINE_ERRORS.dbtRunFailed);
    expect(result.cause).toContain("https://cloud.getdbt.com/deploy/1/projects/2/runs/70403103");
    expect(result.cause).toContain("Database Error in model stg_clicks");
    expect(result.entered.slice(-2)).toEqual([S.describeDbtRunFailure, S.dbtRunFailed]);
    expect(result.calls.startExtract).toHaveLength(0);
    expect(result.calls.cancelDbtRun).toHaveLength(0);
  });

  it("does not retry a non-transient error: a dbt Cloud 401 fails DbtRunFailed after one call", async () => {
    const result = await run(
      {},
      {
        startDbtRun: () => {
          throw namedError(
            "DbtCloudAuthenticationError",
            "dbt Cloud answered 401 for POST /api/v2/accounts/1/jobs/2/run/",
          );
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.dbtRunFailed);
    expect(result.cause).toBe("dbt Cloud answered 401 for POST /api/v2/accounts/1/jobs/2/run/");
    expect(result.calls.startDbtRun).toHaveLength(1);
    expect(result.retries).toEqual([]);
  });

  it("cancels a dbt run that passes its deadline and fails DbtRunTimedOut", async () => {
    const result = await run(
      {},
      { checkDbtRun: (input, call) => ({ ...(happyFakes().checkDbtRun(input, 1) as object), timedOut: call >= 4 }) },
    );

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe(PIPELINE_ERRORS.dbtRunTimedOut);
    expect(result.cause).toContain("deadline");
    expect(result.calls.checkDbtRun).toHaveLength(4);
    expect(result.calls.cancelDbtRun).toEqual([
      expect.objectContaining({ transform: expect.objectContaining({ runId: "70403103", timedOut: true }) }),
    ]);
    expect(result.entered.slice(-4)).toEqual([
      S.isDbtRunFinished,
      S.cancelDbtRun,
      S.describeDbtRunTimeout,
      S.dbtRunTimedOut,
    ]);
  });

  it("fails ExtractFailed with the warehouse's message when the Snowflake unload fails", async () => {
    const result = await run(
      {},
      {
        checkExtract: () => {
          throw namedError(
            "ExtractFailed",
            "Snowflake query 01b2c3d4 failed: SQL compilation error: Object 'RAW.CLICKS' does not exist",
          );
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.extractFailed);
    expect(result.cause).toContain("RAW.CLICKS");
    expect(result.entered.slice(-2)).toEqual([S.checkExtract, S.extractFailed]);
    expect(result.calls.trainEvaluated).toHaveLength(0);
    expect(result.calls.trainServed).toHaveLength(0);
  });

  it("fails InsufficientData, not ExtractFailed, when the window holds too few sessions", async () => {
    const result = await run(
      {},
      {
        checkExtract: () => {
          throw namedError(
            "InsufficientData",
            "12 training sessions in 2024-04-01..2024-04-07; at least 100 are needed",
          );
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.insufficientData);
    expect(result.entered.at(-1)).toBe(S.notEnoughData);
  });

  it("fails TrainingFailed naming the evaluated model when its Batch job fails after its attempts", async () => {
    const result = await run(
      {},
      {
        trainEvaluated: () => {
          throw batchJobLocalFailure({
            jobId: "5a9c6c1e-0000-4000-8000-000000000001",
            jobName: "pms-test-train-r20240408-nightly",
            statusReason: "Essential container in task exited",
          });
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.trainingFailed);
    expect(result.cause).toMatch(/^Training the evaluated model \(trained without the test span\) failed: /);
    expect(result.cause).toContain("Essential container in task exited");
    expect(result.calls.trainEvaluated).toHaveLength(1);
    expect(result.entered).toContain(S.describeEvaluatedTrainingFailure);
    expect(result.entered.slice(-1)).toEqual([S.trainingFailed]);
    expect(result.calls.evaluate).toHaveLength(0);
  });

  it("fails TrainingFailed naming the served model when the refit fails, and deploys nothing", async () => {
    const result = await run(
      {},
      {
        trainServed: () => {
          throw batchJobLocalFailure({
            jobId: "5a9c6c1e-0000-4000-8000-000000000002",
            jobName: "pms-test-refit-r20240408-nightly",
            statusReason: "OutOfMemoryError: Container killed due to memory usage",
          });
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.trainingFailed);
    expect(result.cause).toMatch(/^Training the served model \(trained on the whole window\) failed: /);
    expect(result.cause).toContain("OutOfMemoryError");
    expect(result.entered).toContain(S.describeServedTrainingFailure);
    expect(result.entered).toContain(S.servedTrainingFailed);
    expect(result.entered.slice(-1)).toEqual([S.trainingFailed]);
    for (const task of ["evaluate", "checkServedModel", "registerModel", ...DEPLOY_TASKS] as const)
      expect(result.calls[task]).toHaveLength(0);
  });

  it("fails TrainingFailed naming the model whose training outlasts its timeout", async () => {
    // The same definition with the served job's 3 hours shortened to 1 second: the Catch wiring is what is tested.
    const shortened = structuredClone(asl) as AslDefinition & {
      States: Record<string, { Branches?: { States: Record<string, Record<string, unknown>> }[] }>;
    };
    const served = shortened.States[S.train]?.Branches?.[1]?.States[S.trainServed];
    if (served === undefined) throw new Error("no served training state in the second branch");
    served.TimeoutSeconds = 1;
    const result = await runLocally(shortened, {}, { ...happyFakes(), trainServed: () => new Promise(() => {}) });

    expect(result.error).toBe(PIPELINE_ERRORS.trainingFailed);
    expect(result.cause).toMatch(
      /^Training the served model \(trained on the whole window\) did not finish within 3 hours \(trainingJob.timeout\): /,
    );
    expect(result.entered).toContain(S.describeServedTrainingTimeout);
    expect(result.entered.slice(-1)).toEqual([S.trainingFailed]);
  });

  it("fails ServedModelRejected when the served model is clearly worse: nothing registered or deployed", async () => {
    const result = await run(
      {},
      {
        checkServedModel: () => {
          throw namedError(
            "ServedModelRejected",
            "The served model scores HR@20 0.3100 on the 4000 validation points, 0.2900 below the evaluated model's 0.6000",
          );
        },
      },
    );

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe(PIPELINE_ERRORS.servedModelRejected);
    expect(result.cause).toContain("0.2900 below the evaluated model's 0.6000");
    expect(result.entered.slice(-2)).toEqual([S.checkServedModel, S.servedModelRejected]);
    expect(result.calls.registerModel).toHaveLength(0);
    for (const task of DEPLOY_TASKS) expect(result.calls[task]).toHaveLength(0);
  });

  it("fails EvaluationFailed, not ServedModelRejected, when the check itself cannot run", async () => {
    const result = await run(
      {},
      {
        checkServedModel: () => {
          throw namedError(
            "EvaluationFailed",
            "Loading s3://pms-artifacts/runs/r/served-model/model.tar.gz: NoSuchKey",
          );
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.evaluationFailed);
    expect(result.entered.slice(-2)).toEqual([S.checkServedModel, S.evaluationFailed]);
    expect(result.calls.registerModel).toHaveLength(0);
  });

  it("retries a transient Lambda error and then carries on", async () => {
    const result = await run(
      {},
      {
        startExtract: (input, call) => {
          if (call === 1) throw namedError("Lambda.TooManyRequestsException", "Rate exceeded");
          if (call === 2) throw namedError("TransientError", "Snowflake answered 503");
          return happyFakes().startExtract(input, call);
        },
      },
    );

    expect(result.status).toBe("SUCCEEDED");
    expect(result.calls.startExtract).toHaveLength(3);
    expect(result.retries).toEqual([S.startExtract, S.startExtract]);
  });

  it("retries Start the deployment while another change keeps the endpoint busy", async () => {
    const result = await run(
      {},
      {
        startDeployment: (input, call) => {
          if (call <= 2) throw namedError("EndpointBusy", "Endpoint pms-recommender is Updating; retry later");
          return happyFakes().startDeployment(input, call);
        },
      },
    );

    expect(result.status).toBe("SUCCEEDED");
    expect(result.calls.startDeployment).toHaveLength(3);
    expect(result.retries).toEqual([S.startDeployment, S.startDeployment]);
  });

  it("stops at the gate when the model fails it: registered as rejected, nothing deployed", async () => {
    const result = await run({}, { evaluate: () => failingEvaluation });

    expect(result.status).toBe("FAILED");
    expect(result.error).toBe(PIPELINE_ERRORS.qualityGateFailed);
    expect(result.cause).toContain("hr@20 = 0.3100 is below 0.4");
    expect(result.entered).toEqual([...UNTIL_GATE, S.describeGateRejection, S.gateRejectedModel]);
    for (const task of DEPLOY_TASKS) expect(result.calls[task]).toHaveLength(0);
    expect(result.calls.registerModel).toHaveLength(1);
  });

  it("skips the deployment with deploy=skip, even when the model passes", async () => {
    const result = await run({ deploy: "skip" });

    expect(result.status).toBe("SUCCEEDED");
    expect(result.entered).toEqual([...UNTIL_GATE, S.deploymentSkipped]);
    for (const task of DEPLOY_TASKS) expect(result.calls[task]).toHaveLength(0);
  });

  it("deploys a model that failed the gate when deploy=force", async () => {
    const result = await run(
      { deploy: "force", reason: "hotfix for the holiday catalogue" },
      { evaluate: () => failingEvaluation },
    );

    expect(result.status).toBe("SUCCEEDED");
    expect(result.entered.at(-1)).toBe(S.modelIsServing);
    expect(result.calls.startDeployment).toHaveLength(1);
    expect((result.output as { registration: unknown }).registration).toMatchObject({ approvalStatus: "Approved" });
  });

  it("fails DeploymentFailed with the endpoint's FailureReason when the update is rolled back", async () => {
    const result = await run(
      {},
      {
        checkDeployment: () =>
          deployment("InService", { succeeded: false, failureReason: "Update rolled back: alarm pms-5xx in ALARM" }),
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.deploymentFailed);
    expect(result.cause).toContain("alarm pms-5xx in ALARM");
    expect(result.entered.slice(-3)).toEqual([S.isEndpointInService, S.describeDeploymentFailure, S.deploymentFailed]);
    expect(result.calls.smokeTest).toHaveLength(0);
  });

  it("fails DeploymentFailed when the endpoint passes its deadline while still updating", async () => {
    const result = await run({}, { checkDeployment: () => deployment("Updating", { timedOut: true }) });

    expect(result.error).toBe(PIPELINE_ERRORS.deploymentFailed);
    expect(result.cause).toContain('"timedOut":true');
    expect(result.calls.checkDeployment).toHaveLength(1);
  });

  it("rolls the endpoint back and fails SmokeTestFailed when the smoke test fails", async () => {
    const result = await run(
      {},
      {
        smokeTest: () => ({
          passed: false,
          sessions: 20,
          latencyMs: { p50: 12, max: 40 },
          problems: ["session 3: 5 items, expected 20"],
        }),
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.smokeTestFailed);
    expect(result.cause).toContain("session 3: 5 items, expected 20");
    expect(result.entered.slice(-4)).toEqual([
      S.didSmokeTestPass,
      S.describeSmokeTestFailure,
      S.rollBackEndpoint,
      S.smokeTestFailed,
    ]);
    expect(result.calls.rollBackDeployment).toEqual([expect.objectContaining({ deployment: expect.any(Object) })]);
    expect(result.calls.cleanUpDeployments).toHaveLength(0);
  });

  it("also rolls back when the smoke test itself errors", async () => {
    const result = await run(
      {},
      {
        smokeTest: () => {
          throw namedError("ModelError", "InvokeEndpoint returned 500");
        },
      },
    );

    expect(result.error).toBe(PIPELINE_ERRORS.smokeTestFailed);
    expect(result.cause).toBe("InvokeEndpoint returned 500");
    expect(result.calls.rollBackDeployment).toHaveLength(1);
  });
});
