import { describe, expect, it } from "vitest";
import { DBT_RUN_VARS } from "../../../core/transform/run-vars.ts";
import { createStartDbtRunHandler } from "../../../lambdas/start-dbt-run/handler.ts";
import { RUN, ScriptedTransformer } from "../shared/fake-transformer.ts";

describe("start-dbt-run handler", () => {
  it("starts the run with the execution name as cause, the window as vars, and a deadline", async () => {
    // Prepare
    const transformer = new ScriptedTransformer(["queued"]);
    const startDbtRun = createStartDbtRunHandler({
      transformer,
      timeoutSeconds: 3600,
      now: () => new Date("2026-11-26T02:00:10.000Z"),
    });

    // Act
    const state = await startDbtRun({ run: RUN });

    // Assess
    expect(state).toEqual({
      runId: "4242",
      runUrl: "https://cloud.getdbt.com/deploy/1/projects/2/runs/4242/",
      status: "queued",
      finished: false,
      deadline: "2026-11-26T03:00:10.000Z",
      timedOut: false,
    });
    expect(transformer.calls).toHaveLength(1);
    const request = transformer.calls[0]?.request;
    expect(request?.cause).toContain("nightly-2026-11-26");
    expect(request?.vars).toEqual({
      [DBT_RUN_VARS.windowStart]: "2026-11-19",
      [DBT_RUN_VARS.windowEnd]: "2026-11-25",
      [DBT_RUN_VARS.tenant]: "shop-1",
    });
  });

  it("refuses a state without the run context", async () => {
    // Prepare
    const transformer = new ScriptedTransformer(["queued"]);
    const startDbtRun = createStartDbtRunHandler({ transformer, timeoutSeconds: 60 });

    // Act
    const error = await startDbtRun({ run: { runId: "x" } }).catch((caught: Error) => caught);

    // Assess
    expect((error as Error).name).toBe("InvalidTaskEvent");
    expect((error as Error).message).toContain("run.executionName");
    expect(transformer.calls).toHaveLength(0);
  });
});
