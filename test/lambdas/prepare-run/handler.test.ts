import { describe, expect, it } from "vitest";
import { InvalidExecutionInputError } from "../../../core/pipeline/execution-input.ts";
import { nightlyWindow } from "../../../core/pipeline/resolve-run-context.ts";
import { type RunDefaults, TRAINING_FLAGS } from "../../../core/pipeline/run-context.ts";
import { createPrepareRunHandler, parseRunDefaults } from "../../../lambdas/prepare-run/handler.ts";

const DEFAULTS: RunDefaults = {
  artifactRoot: "s3://pms-artifacts-123456789012/",
  lookbackDays: 7,
  holdoutDays: 1,
  tenant: "shop-1",
  training: {
    epochs: 10,
    embeddingDim: 64,
    hiddenDim: 100,
    maxLength: 20,
    batchSize: 256,
    learningRate: 0.001,
    negativeSamples: 0,
    dropout: 0.25,
    minItemCount: 1,
    patience: 2,
    seed: 42,
  },
  gate: ["hr@20 >= popularity"],
  deploy: "auto",
  minSessions: 100,
};

const EXECUTION = {
  name: "nightly_2026-11-26",
  id: "arn:aws:states:eu-west-1:123456789012:execution:pms-pipeline:nightly_2026-11-26",
  startTime: "2026-11-26T02:00:07.123Z",
};

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the handler to throw");
}

describe("prepare-run handler", () => {
  it("resolves the nightly schedule's input entirely from the defaults", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });

    // Act
    const run = await prepareRun({ input: { trigger: "schedule" }, execution: EXECUTION });

    // Assess
    expect(run.runId).toMatch(/^20261126T020007-nightly-2026-11-26-[0-9a-f]{6}$/);
    expect(run.shortId).toMatch(/^261126-020007-[0-9a-f]{6}$/);
    expect(run.executionName).toBe("nightly_2026-11-26");
    expect(run.trigger).toBe("schedule");
    expect(run.startedAt).toBe("2026-11-26T02:00:07.123Z");
    expect(run.window).toEqual({ start: "2026-11-19", end: "2026-11-25" });
    expect(run.tenant).toBe("shop-1");
    expect(run.holdoutDays).toBe(1);
    expect(run.minSessions).toBe(100);
    expect(run.training).toEqual(DEFAULTS.training);
    expect(run.gate).toEqual(["hr@20 >= popularity"]);
    expect(run.deploy).toBe("auto");
    expect(run.reason).toBeUndefined();
    expect(run.uris.run).toBe(`s3://pms-artifacts-123456789012/runs/${run.runId}`);
    expect(run.uris.data.train).toBe(`s3://pms-artifacts-123456789012/runs/${run.runId}/data/train/`);
    expect(run.uris.evaluatedModel).toBe(`s3://pms-artifacts-123456789012/runs/${run.runId}/model/model.tar.gz`);
    expect(run.uris.model).toBe(`s3://pms-artifacts-123456789012/runs/${run.runId}/served-model/model.tar.gz`);
    expect(run.trainingCommand[0]).toBe("train");
    const flag = (name: string) => run.trainingCommand[run.trainingCommand.indexOf(name) + 1];
    expect(flag(TRAINING_FLAGS.runId)).toBe(run.runId);
    expect(flag(TRAINING_FLAGS.trainData)).toBe(run.uris.data.train);
    expect(JSON.parse(flag(TRAINING_FLAGS.hyperparameters) ?? "")).toEqual(DEFAULTS.training);
    expect(run.trainingCommand.every((part) => typeof part === "string")).toBe(true);
    expect(flag(TRAINING_FLAGS.modelOutput)).toBe(run.uris.evaluatedModel);
    expect(run.trainingCommand).not.toContain(TRAINING_FLAGS.testData);
    // The served model: the same hyper-parameters, the test split added, its own outputs.
    const served = (name: string) => run.servedTrainingCommand[run.servedTrainingCommand.indexOf(name) + 1];
    expect(run.servedTrainingCommand.slice(0, 2)).toEqual(["train", TRAINING_FLAGS.refit]);
    expect(served(TRAINING_FLAGS.trainData)).toBe(run.uris.data.train);
    expect(served(TRAINING_FLAGS.testData)).toBe(run.uris.data.test);
    expect(served(TRAINING_FLAGS.validationData)).toBe(run.uris.data.validation);
    expect(served(TRAINING_FLAGS.modelOutput)).toBe(run.uris.model);
    expect(served(TRAINING_FLAGS.metricsOutput)).toBe(run.uris.trainingMetrics);
    expect(served(TRAINING_FLAGS.hyperparameters)).toBe(flag(TRAINING_FLAGS.hyperparameters));
  });

  it("treats an absent input as an empty one with the console trigger", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });

    // Act
    const run = await prepareRun({ input: null, execution: EXECUTION });

    // Assess
    expect(run.trigger).toBe("console");
    expect(run.window).toEqual({ start: "2026-11-19", end: "2026-11-25" });
  });

  it("merges partial training parameters over the defaults and keeps the console's choices", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const input = {
      trigger: "console",
      window: { start: "2014-04-01", end: "2014-04-07" },
      tenant: "shop-2",
      holdoutDays: 2,
      training: { epochs: 3, learningRate: 0.01 },
      gate: ["hr@20 >= 0.3", "mrr@20 >= champion - 0.01"],
      deploy: "force",
      reason: "hotfix for the holiday catalogue",
    };

    // Act
    const run = await prepareRun({ input, execution: EXECUTION });

    // Assess
    expect(run.training).toEqual({ ...DEFAULTS.training, epochs: 3, learningRate: 0.01 });
    expect(run.window).toEqual({ start: "2014-04-01", end: "2014-04-07" });
    expect(run.tenant).toBe("shop-2");
    expect(run.holdoutDays).toBe(2);
    expect(run.gate).toEqual(["hr@20 >= 0.3", "mrr@20 >= champion - 0.01"]);
    expect(run.deploy).toBe("force");
    expect(run.reason).toBe("hotfix for the holiday catalogue");
    const hyperparameters = run.trainingCommand[run.trainingCommand.indexOf(TRAINING_FLAGS.hyperparameters) + 1];
    expect(JSON.parse(hyperparameters ?? "")).toMatchObject({ epochs: 3, learningRate: 0.01, embeddingDim: 64 });
  });

  it("lists every problem of an invalid input in one InvalidExecutionInput error", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const input = {
      window: { start: "2014-04-09", end: "2014-04-07" },
      training: { epochs: 0, embedingDim: 64 },
      deploy: "yes",
      gate: ["hr@20 >= banana"],
      colour: "blue",
    };

    // Act
    const error = await failureOf(prepareRun({ input, execution: EXECUTION }));

    // Assess
    expect(error).toBeInstanceOf(InvalidExecutionInputError);
    expect(error.name).toBe("InvalidExecutionInput");
    const lines = (error as InvalidExecutionInputError).problems.split("\n");
    expect(lines.some((line) => line.startsWith("window.end:"))).toBe(true);
    expect(lines.some((line) => line.startsWith("training.epochs:"))).toBe(true);
    expect(lines.some((line) => line.includes("embedingDim"))).toBe(true);
    expect(lines.some((line) => line.startsWith("deploy:"))).toBe(true);
    expect(lines.some((line) => line.startsWith("gate.0:"))).toBe(true);
    expect(lines.some((line) => line.includes("colour"))).toBe(true);
  });

  it("rejects a window too short for the holdout and one that ends after the execution started, together", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const input = { window: { start: "2026-11-26", end: "2026-11-27" }, holdoutDays: 2 };

    // Act
    const error = await failureOf(prepareRun({ input, execution: EXECUTION }));

    // Assess
    expect(error).toBeInstanceOf(InvalidExecutionInputError);
    const problems = (error as InvalidExecutionInputError).problems;
    expect(problems).toContain(
      "window: 2026-11-26..2026-11-27 has 2 day(s), but holdoutDays 2 needs more than 2 (test takes the last 2; train and validation need the days before)",
    );
    expect(problems).toContain("window.end: 2026-11-27 is after the execution's start day 2026-11-26");
  });

  it("accepts a window of holdoutDays + 1 days: validation is sampled from the days before the test span", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const input = { window: { start: "2026-11-24", end: "2026-11-25" }, holdoutDays: 1 };

    // Act
    const run = await prepareRun({ input, execution: EXECUTION });

    // Assess
    expect(run.window).toEqual({ start: "2026-11-24", end: "2026-11-25" });
    expect(run.holdoutDays).toBe(1);
  });

  it("refuses a payload without the execution context as a wiring error, not an input error", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });

    // Act
    const error = await failureOf(prepareRun({ input: {} }));

    // Assess
    expect(error.name).toBe("InvalidTaskEvent");
    expect(error.message).toContain("execution");
  });

  it("gives different executions different run ids and short ids, sorted by start time", async () => {
    // Prepare: two names that slug alike, started in the same second, and a later execution.
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const executions = [
      { ...EXECUTION, name: "Retrain now!", id: `${EXECUTION.id}-a` },
      { ...EXECUTION, name: "retrain-now", id: `${EXECUTION.id}-b` },
      { ...EXECUTION, name: "retrain-now", id: `${EXECUTION.id}-c`, startTime: "2026-11-26T02:00:08.000Z" },
    ];

    // Act
    const runs = await Promise.all(executions.map((execution) => prepareRun({ input: {}, execution })));

    // Assess
    const runIds = runs.map((run) => run.runId);
    const shortIds = runs.map((run) => run.shortId);
    expect(new Set(runIds).size).toBe(3);
    expect(new Set(shortIds).size).toBe(3);
    expect(runIds[0]?.startsWith("20261126T020007-retrain-now-")).toBe(true);
    expect(runIds[2]?.startsWith("20261126T020008-retrain-now-")).toBe(true);
    const [first = "", second = "", later = ""] = runIds;
    expect(later > first && later > second).toBe(true);
    for (const run of runs) {
      expect(run.shortId.length).toBeLessThanOrEqual(24);
      expect(run.shortId).toMatch(/^[a-z0-9-]+$/);
      expect(run.runId).toMatch(/^[0-9T]{15}-[a-z0-9-]+$/);
    }
  });

  it("keeps run ids short and safe for any execution name", async () => {
    // Prepare
    const prepareRun = createPrepareRunHandler({ defaults: DEFAULTS });
    const execution = { ...EXECUTION, name: `${"Ünïcode ".repeat(10)}__${"x".repeat(80)}` };

    // Act
    const run = await prepareRun({ input: {}, execution });

    // Assess
    expect(run.runId).toMatch(/^[0-9T]{15}-[a-z0-9-]+$/);
    expect(run.runId.length).toBeLessThanOrEqual(15 + 1 + 40 + 1 + 6);
    expect(run.runId).not.toContain("--");
  });
});

describe("nightlyWindow", () => {
  it.each([
    ["2026-11-26T02:00:00Z", 7, "2026-11-19", "2026-11-25"],
    ["2026-03-02T00:30:00Z", 3, "2026-02-27", "2026-03-01"],
    ["2024-03-01T23:59:59Z", 2, "2024-02-28", "2024-02-29"],
    ["2027-01-01T00:00:00Z", 1, "2026-12-31", "2026-12-31"],
    ["2026-12-01T05:00:00Z", 31, "2026-10-31", "2026-11-30"],
  ])("from %s with %i day(s) of lookback is %s..%s (UTC)", (startedAt, lookbackDays, start, end) => {
    expect(nightlyWindow(new Date(startedAt), lookbackDays)).toEqual({ start, end });
  });
});

describe("parseRunDefaults", () => {
  it("accepts the defaults the stack writes", () => {
    expect(parseRunDefaults(JSON.stringify(DEFAULTS))).toEqual(DEFAULTS);
  });

  it("names the variable when it is not JSON, and every wrong field when it is", () => {
    expect(() => parseRunDefaults("{lookbackDays: 7")).toThrow(/PMS_RUN_DEFAULTS is not JSON/);
    const error = (() => {
      try {
        parseRunDefaults(JSON.stringify({ ...DEFAULTS, lookbackDays: 0, deploy: "sometimes" }));
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.name).toBe("InvalidRunDefaults");
    expect(error?.message).toContain("lookbackDays");
    expect(error?.message).toContain("deploy");
  });
});
