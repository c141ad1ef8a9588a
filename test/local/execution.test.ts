import { describe, expect, it } from "vitest";
import { executeLocally } from "../../local/execution.ts";

const definition = {
  StartAt: "Prepare the run",
  States: {
    "Prepare the run": {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { "Payload.$": "$", "name.$": "$$.Execution.Name" },
      ResultPath: "$.run",
      Next: "Wait a bit",
    },
    "Wait a bit": { Type: "Wait", Seconds: 3600, Next: "Is it fine?" },
    "Is it fine?": {
      Type: "Choice",
      Choices: [{ Variable: "$.run.ok", BooleanEquals: true, Next: "Done" }],
      Default: "It is not fine",
    },
    Done: { Type: "Succeed" },
    "It is not fine": { Type: "Fail", Error: "NotFine", Cause: "ok was false" },
  },
} as const;

describe("executeLocally", () => {
  it("runs every Task through its override, honours wait overrides and passes the execution name", async () => {
    // Prepare
    const events: string[] = [];
    const seen: unknown[] = [];
    // Act
    const outcome = await executeLocally({
      definition: definition as never,
      input: { ok: true },
      executionName: "local-1",
      taskOverrides: {
        "Prepare the run": async (input) => {
          seen.push(input);
          return { ok: true };
        },
      },
      waitTimeOverrides: { "Wait a bit": 0 },
      onStateEvent: (event) => events.push(`${event.kind} ${event.state}`),
    });
    // Assess
    expect(outcome.status).toBe("succeeded");
    expect(seen).toEqual([{ Payload: { ok: true }, name: "local-1" }]);
    expect(outcome.stages.map((stage) => stage.state)).toEqual([
      "Prepare the run",
      "Wait a bit",
      "Is it fine?",
      "Done",
    ]);
    expect(events.slice(0, 3)).toEqual(["entered Prepare the run", "exited Prepare the run", "entered Wait a bit"]);
  });

  it("reports a Fail state's error and cause, and the last state's data", async () => {
    const outcome = await executeLocally({
      definition: definition as never,
      input: {},
      executionName: "local-2",
      taskOverrides: { "Prepare the run": async () => ({ ok: false }) },
      waitTimeOverrides: { "Wait a bit": 0 },
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toEqual({ name: "NotFine", cause: "ok was false", state: "It is not fine" });
    expect(outcome.lastState).toEqual({ run: { ok: false } });
  });

  it("names the Task whose handler threw, with the error's name and message", async () => {
    const failures: string[] = [];
    class DbtRunFailed extends Error {
      override readonly name = "DbtRunFailed";
    }
    const outcome = await executeLocally({
      definition: definition as never,
      input: {},
      executionName: "local-3",
      taskOverrides: {
        "Prepare the run": async () => {
          throw new DbtRunFailed("a test failed", { cause: new Error("inner") });
        },
      },
      onStateEvent: (event) => {
        if (event.kind === "failed") failures.push(event.detail ?? "");
      },
    });
    expect(outcome.error).toEqual({ name: "DbtRunFailed", cause: "a test failed", state: "Prepare the run" });
    expect(failures).toEqual(["DbtRunFailed: a test failed"]);
  });

  it("refuses to start when a Task has no local handler (it would call AWS)", async () => {
    await expect(
      executeLocally({
        definition: definition as never,
        input: {},
        executionName: "local-4",
        taskOverrides: {},
      }),
    ).rejects.toThrow(/no local handler for the Task state\(s\): Prepare the run/);
  });

  it("stops when the signal aborts and reports the run as aborted", async () => {
    const controller = new AbortController();
    const outcome = await executeLocally({
      definition: definition as never,
      input: {},
      executionName: "local-5",
      taskOverrides: {
        "Prepare the run": async () => {
          setTimeout(() => controller.abort(), 10);
          return { ok: true };
        },
      },
      waitTimeOverrides: { "Wait a bit": 60_000 },
      signal: controller.signal,
    });
    expect(outcome.status).toBe("aborted");
    expect(outcome.error?.state).toBe("Wait a bit");
    expect(outcome.stages.at(-1)).toMatchObject({ state: "Wait a bit", outcome: "aborted" });
  });

  it("settles when the engine rejects an input nested thousands deep, instead of waiting forever", async () => {
    // Prepare: 5,000 levels (a 10 KB file) make the engine throw a RangeError without closing its event stream.
    let input: unknown = {};
    for (let level = 0; level < 5000; level++) input = { nested: input };

    // Act
    const settled = await executeLocally({
      definition: { StartAt: "Done", States: { Done: { Type: "Pass", End: true } } } as never,
      input: input as never,
      executionName: "local-6",
      taskOverrides: {},
    }).then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );

    // Assess
    expect(settled).toHaveProperty("error");
    expect((settled as { error: Error }).error).toBeInstanceOf(RangeError);
  });
});
