import { describe, expect, it } from "vitest";
import { LAMBDA_TASKS, TRAIN_STATES } from "../../lib/pipeline/tasks.ts";
import { taskOverrides } from "../../local/task-overrides.ts";

describe("taskOverrides", () => {
  it("runs each Lambda Task's handler and shapes its result like the cloud integration", async () => {
    const calls: unknown[] = [];
    const overrides = taskOverrides(
      {
        evaluate: async (event) => {
          calls.push(event);
          return { passed: true };
        },
      },
      async () => undefined,
    );
    const evaluate = overrides[LAMBDA_TASKS.evaluate.stateName];
    expect(await evaluate?.({ run: { runId: "r" } })).toEqual(LAMBDA_TASKS.evaluate.wrapLocalResult({ passed: true }));
    expect(calls).toEqual([{ run: { runId: "r" } }]);
    // No handler given, no override: the run refuses to start rather than call AWS.
    expect(overrides[LAMBDA_TASKS.prepareRun.stateName]).toBeUndefined();
  });

  it("runs each model's training command and answers like submitJob.sync", async () => {
    const jobs: { model: string; command: readonly string[] }[] = [];
    const overrides = taskOverrides({}, async (job) => {
      jobs.push({ model: job.model, command: job.command });
    });
    const evaluated = await overrides[TRAIN_STATES.evaluated]?.({
      JobName: "pms-train-1",
      ContainerOverrides: { Command: ["train", "--run-id", "r"] },
    });
    const served = await overrides[TRAIN_STATES.served]?.({
      JobName: "pms-refit-1",
      ContainerOverrides: { Command: ["train", "--refit", "--run-id", "r"] },
    });
    expect(jobs).toEqual([
      { model: "evaluated", command: ["train", "--run-id", "r"] },
      { model: "served", command: ["train", "--refit", "--run-id", "r"] },
    ]);
    expect(evaluated).toEqual({ JobId: "local-pms-train-1", JobName: "pms-train-1", Status: "SUCCEEDED" });
    expect(served).toEqual({ JobId: "local-pms-refit-1", JobName: "pms-refit-1", Status: "SUCCEEDED" });
  });

  it("reports a failed training process as a failed Batch job (States.TaskFailed, the job as cause)", async () => {
    const overrides = taskOverrides({}, async () => {
      throw new Error("The training process exited with code 1");
    });
    const failure = overrides[TRAIN_STATES.served]?.({ JobName: "j", ContainerOverrides: { Command: ["train"] } });
    await expect(failure).rejects.toMatchObject({ name: "States.TaskFailed" });
    await expect(failure).rejects.toThrow(/"Status":"FAILED","StatusReason":"The training process exited with code 1"/);
    await expect(overrides[TRAIN_STATES.evaluated]?.({ JobName: "j" })).rejects.toThrow(
      /no ContainerOverrides.Command/,
    );
  });
});
