import { describe, expect, it } from "vitest";
import type { DbtRunState, DbtRunStatus } from "../../../core/pipeline/contracts.ts";
import { createCheckDbtRunHandler } from "../../../lambdas/check-dbt-run/handler.ts";
import { RUN, ScriptedTransformer } from "../shared/fake-transformer.ts";

const DEADLINE = "2026-11-26T03:00:00.000Z";
const STARTED: DbtRunState = {
  runId: "4242",
  runUrl: "https://cloud.getdbt.com/deploy/1/projects/2/runs/4242/",
  status: "queued",
  finished: false,
  deadline: DEADLINE,
  timedOut: false,
};

async function check(status: DbtRunStatus, at: string, message?: string) {
  const transformer = new ScriptedTransformer([status], message);
  const checkDbtRun = createCheckDbtRunHandler({ transformer, now: () => new Date(at) });
  const state = await checkDbtRun({ run: RUN, transform: STARTED });
  return { state, transformer };
}

describe("check-dbt-run handler", () => {
  it("refreshes a running run before its deadline without timing it out", async () => {
    // Prepare / Act
    const { state, transformer } = await check("running", "2026-11-26T02:59:59.999Z");

    // Assess
    expect(transformer.calls).toEqual([{ method: "get", runId: "4242" }]);
    expect(state).toEqual({ ...STARTED, status: "running", finished: false, timedOut: false, redriveCount: 0 });
  });

  it("gives a redriven execution the run's whole timeout again from the redrive, then holds it", async () => {
    // Prepare: the execution failed after the deadline and is redriven the next morning.
    const transformer = new ScriptedTransformer(["running", "running"]);
    const nextMorning = "2026-11-27T08:00:00.000Z";
    const checkDbtRun = createCheckDbtRunHandler({
      transformer,
      timeoutSeconds: 7200,
      now: () => new Date(nextMorning),
    });

    // Act
    const redriven = await checkDbtRun({ run: RUN, transform: STARTED, execution: { redriveCount: 1 } });
    const notRedriven = await checkDbtRun({ run: RUN, transform: STARTED, execution: { redriveCount: 0 } });

    // Assess
    expect(redriven).toMatchObject({ timedOut: false, deadline: "2026-11-27T10:00:00.000Z", redriveCount: 1 });
    expect(notRedriven).toMatchObject({ timedOut: true, deadline: DEADLINE });
    const later = createCheckDbtRunHandler({
      transformer: new ScriptedTransformer(["running"]),
      timeoutSeconds: 7200,
      now: () => new Date("2026-11-27T10:00:00.000Z"),
    });
    expect(await later({ run: RUN, transform: redriven, execution: { redriveCount: 1 } })).toMatchObject({
      timedOut: true,
      deadline: "2026-11-27T10:00:00.000Z",
    });
  });

  it("times out a run still going at its deadline", async () => {
    // Prepare / Act
    const { state } = await check("starting", DEADLINE);

    // Assess
    expect(state.timedOut).toBe(true);
    expect(state.finished).toBe(false);
    expect(state.deadline).toBe(DEADLINE);
  });

  it("never times out a run that finished, even after the deadline", async () => {
    // Prepare / Act
    const { state } = await check("success", "2026-11-26T05:00:00.000Z");

    // Assess
    expect(state).toMatchObject({ status: "success", finished: true, timedOut: false });
    expect(state.message).toBeUndefined();
  });

  it("reports a failed run as a status with dbt's message, for the Choice to turn into DbtRunFailed", async () => {
    // Prepare / Act
    const { state } = await check("error", "2026-11-26T02:30:00.000Z", "Database Error in model stg_events");

    // Assess
    expect(state).toMatchObject({
      status: "error",
      finished: true,
      timedOut: false,
      message: "Database Error in model stg_events",
      runUrl: STARTED.runUrl,
    });
  });

  it("refuses a transform state without a deadline", async () => {
    // Prepare
    const transformer = new ScriptedTransformer(["running"]);
    const checkDbtRun = createCheckDbtRunHandler({ transformer });
    const { deadline: _, ...withoutDeadline } = STARTED;

    // Act
    const error = await checkDbtRun({ run: RUN, transform: withoutDeadline }).catch((caught: Error) => caught);

    // Assess
    expect((error as Error).name).toBe("InvalidTaskEvent");
    expect((error as Error).message).toContain("transform.deadline");
    expect(transformer.calls).toHaveLength(0);
  });
});
