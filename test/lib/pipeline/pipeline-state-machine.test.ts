import validateAsl from "asl-validator";
import { Duration, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { StateMachine } from "aws-local-stepfunctions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { PIPELINE_ERRORS } from "../../../core/pipeline/contracts.ts";
import { STATE_NAMES } from "../../../lib/pipeline/state-names.ts";
import {
  BATCH_TRANSIENT_ERRORS,
  LAMBDA_TASKS,
  LAMBDA_TIMEOUT_ERRORS,
  LAMBDA_TRANSIENT_ERRORS,
  RETRYING_STATES,
  TRAIN_STATES,
  WAIT_STATES,
} from "../../../lib/pipeline/tasks.ts";
import { type AslDefinition, type CfnTemplate, definitionFromTemplate } from "../../../local/asl.ts";
import { pipelineTestStack, TEST_JOB_QUEUE_ARN } from "./pipeline-test-stack.ts";

type AslState = Record<string, unknown> & { Type: string };

let template: Template;
let asl: AslDefinition;
let states: Record<string, AslState>;
let functionLogicalIds: ReturnType<typeof pipelineTestStack>["functionLogicalIds"];

// One synthesis, env-agnostic like `cdk synth` without a profile, with cdk-nag's AwsSolutions pack:
// `app.synth()` throws on any unacknowledged finding.
beforeAll(() => {
  const built = pipelineTestStack({}, { envAgnostic: true });
  Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
  const assembly = built.app.synth();
  const json = assembly.getStackArtifact(built.stack.artifactId).template as CfnTemplate;
  template = Template.fromJSON(json as Record<string, unknown>);
  asl = definitionFromTemplate(json);
  states = withBranchStates(asl.States as Record<string, AslState>);
  functionLogicalIds = built.functionLogicalIds;
});

/** Every state by name, the Parallel branches' included (state names are unique across the machine). */
function withBranchStates(top: Record<string, AslState>): Record<string, AslState> {
  const all: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(top)) {
    all[name] = state;
    for (const branch of (state.Branches as { States: Record<string, AslState> }[] | undefined) ?? [])
      Object.assign(all, withBranchStates(branch.States));
  }
  return all;
}

function successors(state: AslState): string[] {
  const next: string[] = [];
  for (const branch of (state.Branches as { StartAt: string }[] | undefined) ?? []) next.push(branch.StartAt);
  if (typeof state.Next === "string") next.push(state.Next);
  if (typeof state.Default === "string") next.push(state.Default);
  for (const choice of (state.Choices as { Next: string }[] | undefined) ?? []) next.push(choice.Next);
  for (const catcher of (state.Catch as { Next: string }[] | undefined) ?? []) next.push(catcher.Next);
  return next;
}

describe("the synthesized pipeline definition", () => {
  it("is valid Amazon States Language for asl-validator and aws-local-stepfunctions", () => {
    const { isValid, errorsText } = validateAsl(asl as never);
    expect(errorsText("\n")).toBe("");
    expect(isValid).toBe(true);
    expect(() => new StateMachine(asl as never)).not.toThrow();
  });

  it("uses JSONPath, which aws-local-stepfunctions runs (it ignores JSONata)", () => {
    expect(asl.QueryLanguage ?? "JSONPath").toBe("JSONPath");
    for (const state of Object.values(states)) expect(state.QueryLanguage ?? "JSONPath").toBe("JSONPath");
  });

  it("uses exactly the exported state names, every one reachable from the start", () => {
    expect(Object.keys(states).sort()).toEqual(Object.values(STATE_NAMES).sort());
    const reached = new Set<string>();
    const queue = [asl.StartAt];
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      if (reached.has(name)) continue;
      reached.add(name);
      const state = states[name];
      expect(state, `${name} is referenced but not defined`).toBeDefined();
      if (state !== undefined) queue.push(...successors(state));
    }
    expect([...reached].sort()).toEqual(Object.keys(states).sort());
    expect(asl.StartAt).toBe(STATE_NAMES.prepareRun);
  });

  it("gives every Task a timeout and a Retry on transient errors with back-off", () => {
    const tasks = Object.entries(states).filter(([, state]) => state.Type === "Task");
    expect(tasks.map(([name]) => name).sort()).toEqual([...RETRYING_STATES].sort());
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      const [retrier] = state.Retry as Record<string, unknown>[];
      const isTraining = (Object.values(TRAIN_STATES) as string[]).includes(name);
      const transient = isTraining ? BATCH_TRANSIENT_ERRORS : LAMBDA_TRANSIENT_ERRORS;
      expect(retrier, name).toMatchObject({ ErrorEquals: [...transient], BackoffRate: 2, JitterStrategy: "FULL" });
      expect(retrier?.MaxAttempts, name).toBeGreaterThan(1);
      const spec = Object.values(LAMBDA_TASKS).find((candidate) => candidate.stateName === name);
      const busyErrors = spec?.busyErrors ?? [];
      expect((state.Retry as unknown[]).slice(1), name).toEqual([
        ...(spec?.retriesTimeouts ? [expect.objectContaining({ ErrorEquals: [...LAMBDA_TIMEOUT_ERRORS] })] : []),
        ...(busyErrors.length === 0 ? [] : [expect.objectContaining({ ErrorEquals: busyErrors, IntervalSeconds: 60 })]),
      ]);
      expect(state.Catch, `${name} has no Catch`).toBeDefined();
    }
    for (const training of Object.values(TRAIN_STATES))
      expect(states[training]?.TimeoutSeconds, training).toBe(Duration.hours(3).toSeconds());
    // Above Lambda's 15-minute maximum, so a function's own timeout fires first, with a cause.
    expect(states[STATE_NAMES.startDbtRun]?.TimeoutSeconds).toBe(16 * 60);
  });

  it("ends every failure path in a Fail state with a pipeline error and a cause", () => {
    const fails = Object.values(states).filter((state) => state.Type === "Fail");
    expect(fails.length).toBeGreaterThanOrEqual(Object.keys(PIPELINE_ERRORS).length);
    for (const fail of fails) {
      expect(Object.values(PIPELINE_ERRORS)).toContain(fail.Error);
      expect(fail.Cause ?? fail.CausePath).toEqual(expect.any(String));
    }
    expect(new Set(fails.map((fail) => fail.Error))).toEqual(new Set(Object.values(PIPELINE_ERRORS)));
    // Every catcher leads to a Fail, or to the rollback or the Describe… Pass that precedes one.
    for (const [name, state] of Object.entries(states)) {
      for (const catcher of (state.Catch as { Next: string }[] | undefined) ?? []) {
        const target = states[catcher.Next];
        const failsNext =
          target?.Type === "Fail" ||
          ((target?.Type === "Task" || target?.Type === "Pass") && states[String(target.Next)]?.Type === "Fail");
        expect(failsNext, `${name} catches into ${catcher.Next}`).toBe(true);
      }
    }
  });

  it("invokes each pipeline function from its state, the result landing at its state key", () => {
    for (const spec of Object.values(LAMBDA_TASKS)) {
      const state = states[spec.stateName];
      expect(state?.Resource, spec.stateName).toBe(
        `arn:aws:lambda:local:000000000000:function:${functionLogicalIds[spec.functionKey]}`,
      );
      if (spec.functionKey === "prepareRun") continue;
      expect(state?.ResultPath, spec.stateName).toBe(spec.resultKey === null ? null : `$.${spec.resultKey}`);
      if (spec.redriveAwareKeys) {
        // A polling check gets the state keys it reads and the execution's redrive count (its deadline survives a redrive).
        expect(state?.Parameters, spec.stateName).toEqual({
          ...Object.fromEntries(spec.redriveAwareKeys.map((key) => [`${key}.$`, `$.${key}`])),
          execution: { "redriveCount.$": "$$.Execution.RedriveCount" },
        });
        continue;
      }
      expect(state?.Parameters, `${spec.stateName} passes the whole state`).toBeUndefined();
    }
    expect(states[STATE_NAMES.prepareRun]).toMatchObject({
      Parameters: {
        "input.$": "$",
        execution: {
          "name.$": "$$.Execution.Name",
          "id.$": "$$.Execution.Id",
          "startTime.$": "$$.Execution.StartTime",
        },
      },
      ResultSelector: { "run.$": "$" },
    });
  });

  it("trains the evaluated and the served model at once, each a Batch job with its own command", () => {
    const parallel = asl.States[STATE_NAMES.train] as AslState & { Branches: { StartAt: string }[] };
    expect(parallel).toMatchObject({
      Type: "Parallel",
      ResultSelector: { "evaluated.$": "$[0]", "served.$": "$[1]" },
      ResultPath: "$.train",
      Next: STATE_NAMES.evaluate,
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: STATE_NAMES.trainingFailed }],
    });
    expect(parallel.Branches.map((branch) => branch.StartAt)).toEqual([TRAIN_STATES.evaluated, TRAIN_STATES.served]);
    const job = (name: string, command: string) => ({
      Resource: "arn:aws:states:::batch:submitJob.sync",
      Parameters: {
        JobQueue: TEST_JOB_QUEUE_ARN,
        "JobName.$": `States.Format('pms-test-${name}-{}', $.run.shortId)`,
        ContainerOverrides: { "Command.$": command },
      },
      ResultSelector: { "jobId.$": "$.JobId", "status.$": "$.Status" },
      TimeoutSeconds: Duration.hours(3).toSeconds(),
      End: true,
    });
    expect(states[TRAIN_STATES.evaluated]).toMatchObject(job("train", "$.run.trainingCommand"));
    expect(states[TRAIN_STATES.served]).toMatchObject(job("refit", "$.run.servedTrainingCommand"));
    // A failed or timed-out job ends its branch in TrainingFailed, with a cause naming the model.
    for (const [training, timeout, failure, failed] of [
      [
        TRAIN_STATES.evaluated,
        STATE_NAMES.describeEvaluatedTrainingTimeout,
        STATE_NAMES.describeEvaluatedTrainingFailure,
        STATE_NAMES.evaluatedTrainingFailed,
      ],
      [
        TRAIN_STATES.served,
        STATE_NAMES.describeServedTrainingTimeout,
        STATE_NAMES.describeServedTrainingFailure,
        STATE_NAMES.servedTrainingFailed,
      ],
    ] as const) {
      expect(states[training]?.Catch).toEqual([
        { ErrorEquals: ["States.Timeout"], ResultPath: "$.error", Next: timeout },
        { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: failure },
      ]);
      expect(states[timeout]?.Next).toBe(failed);
      expect(states[failure]?.Next).toBe(failed);
      expect(states[failed]).toMatchObject({
        Type: "Fail",
        Error: PIPELINE_ERRORS.trainingFailed,
        CausePath: "$.error.Cause",
      });
    }
  });

  it("checks the served model after the evaluation and before registration", () => {
    expect(states[STATE_NAMES.evaluate]?.Next).toBe(STATE_NAMES.checkServedModel);
    expect(states[STATE_NAMES.checkServedModel]).toMatchObject({
      ResultPath: "$.servedModelCheck",
      Next: STATE_NAMES.registerModel,
      Catch: [
        { ErrorEquals: [PIPELINE_ERRORS.servedModelRejected], Next: STATE_NAMES.servedModelRejected },
        { ErrorEquals: ["States.ALL"], Next: STATE_NAMES.evaluationFailed },
      ],
    });
    expect(states[STATE_NAMES.servedModelRejected]).toMatchObject({
      Type: "Fail",
      Error: PIPELINE_ERRORS.servedModelRejected,
    });
  });

  it("polls with the configured waits", () => {
    expect(WAIT_STATES.map((name) => states[name]?.Seconds)).toEqual([30, 20, 60]);
  });

  it("bounds the whole execution: the training timeout plus a day for the other stages", () => {
    expect(asl.TimeoutSeconds).toBe(Duration.hours(3 + 24).toSeconds());
  });
});

describe("the pipeline state machine resource", () => {
  it("logs every event to an encrypted log group, without execution data, and traces with X-Ray", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: "pms-test-pipeline",
      LoggingConfiguration: {
        IncludeExecutionData: false,
        Level: "ALL",
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [Match.anyValue(), "Arn"] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/aws/vendedlogs/states/pms-test-pipeline",
      RetentionInDays: 30,
      KmsKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("^PipelineLogKey"), "Arn"] },
    });
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  it("may invoke the pipeline's functions and run the training job, nothing more", () => {
    const policies = template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp("^PipelineRole") }] },
    });
    const statements = Object.values(policies).flatMap(
      (policy) =>
        (
          policy as {
            Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
          }
        ).Properties.PolicyDocument.Statement,
    );
    const invoke = statements.filter((statement) => statement.Action === "lambda:InvokeFunction");
    const invoked = new Set(
      invoke.flatMap((statement) =>
        (statement.Resource as unknown[]).flatMap(
          (resource) => JSON.stringify(resource).match(/Fn[A-Za-z]+[0-9A-F]{8}/g) ?? [],
        ),
      ),
    );
    expect([...invoked].sort()).toEqual(Object.values(functionLogicalIds).sort());
    const submit = statements.find((statement) => statement.Action === "batch:SubmitJob");
    expect(JSON.stringify(submit?.Resource)).toContain(TEST_JOB_QUEUE_ARN);
    // submitJob.sync on both jobs: describe them while they run, terminate them when the state times
    // out or the execution stops, and the EventBridge rule Step Functions listens to for their end.
    const actions = statements.flatMap((statement) =>
      Array.isArray(statement.Action) ? statement.Action : [statement.Action],
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        "batch:SubmitJob",
        "batch:DescribeJobs",
        "batch:TerminateJob",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
      ]),
    );
    const rule = statements.find((statement) => [statement.Action].flat().includes("events:PutRule"));
    expect(JSON.stringify(rule?.Resource)).toContain("StepFunctionsGetEventsForBatchJobsRule");
  });

  it("refuses an execution timeout shorter than the training timeout, naming both", () => {
    expect(() => pipelineTestStack({ timeout: Duration.hours(2) })).toThrow(
      /timeout \(2 hours\) must be longer than trainingJob.timeout \(3 hours\)/,
    );
  });
});
