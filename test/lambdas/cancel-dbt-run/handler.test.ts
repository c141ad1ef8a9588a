import { describe, expect, it } from "vitest";
import { createCancelDbtRunHandler } from "../../../lambdas/cancel-dbt-run/handler.ts";
import { RUN, ScriptedTransformer } from "../shared/fake-transformer.ts";

describe("cancel-dbt-run handler", () => {
  it("cancels the run and keeps it marked as timed out", async () => {
    // Prepare
    const transformer = new ScriptedTransformer(["cancelled"], "Cancelled by the pipeline");
    const cancelDbtRun = createCancelDbtRunHandler({ transformer });
    const transform = {
      runId: "4242",
      runUrl: "https://cloud.getdbt.com/deploy/1/projects/2/runs/4242/",
      status: "running",
      finished: false,
      deadline: "2026-11-26T03:00:00.000Z",
      timedOut: true,
    };

    // Act
    const state = await cancelDbtRun({ run: RUN, transform });

    // Assess
    expect(transformer.calls).toEqual([{ method: "cancel", runId: "4242" }]);
    expect(state).toEqual({
      ...transform,
      status: "cancelled",
      finished: true,
      message: "Cancelled by the pipeline",
    });
  });
});
