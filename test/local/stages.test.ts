import { describe, expect, it } from "vitest";
import { STATE_NAMES } from "../../lib/pipeline/state-names.ts";
import { createRecordingReporter } from "../../local/progress.ts";
import type { StageTiming } from "../../local/run-record.ts";
import { createStateProgress, STAGES, summarizeStages } from "../../local/stages.ts";

function timing(
  state: string,
  startSecond: number,
  seconds: number,
  outcome: StageTiming["outcome"] = "succeeded",
): StageTiming {
  return {
    state,
    type: "Task",
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, startSecond)).toISOString(),
    seconds,
    outcome,
  };
}

describe("summarizeStages", () => {
  it("gives each stage its wall time from first to last state, counts checks, and keeps pipeline order", () => {
    const stages = summarizeStages([
      timing(STATE_NAMES.prepareRun, 0, 1),
      timing(STATE_NAMES.startDbtRun, 1, 1),
      timing(STATE_NAMES.checkDbtRun, 3, 1),
      timing(STATE_NAMES.checkDbtRun, 5, 1),
      timing(STATE_NAMES.checkDbtRun, 7, 2),
      timing(STATE_NAMES.train, 10, 30, "failed"),
      timing("The new model is serving", 40, 0),
    ]);
    expect(stages).toEqual([
      { stage: "Prepare", seconds: 1, outcome: "succeeded", polls: 0 },
      { stage: "Transform (dbt)", seconds: 8, outcome: "succeeded", polls: 3 },
      { stage: "Train", seconds: 30, outcome: "failed", polls: 0 },
    ]);
  });

  it("places every Task, Wait and Choice state of the pipeline in exactly one stage", () => {
    const placed = STAGES.flatMap((stage) => stage.states);
    expect(new Set(placed).size).toBe(placed.length);
    for (const name of [STATE_NAMES.waitForEndpoint, STATE_NAMES.isExtractFinished, STATE_NAMES.cleanUpDeployments])
      expect(placed).toContain(name);
  });
});

describe("createStateProgress", () => {
  it("names a failed state's error once (the summary prints its cause) and labels training as on the CPU", () => {
    const recording = createRecordingReporter();
    const details: string[] = [];
    const progress = createStateProgress({
      ...recording,
      stateEnded: (state, seconds, outcome, detail) => {
        details.push(detail ?? "");
        recording.stateEnded(state, seconds, outcome, detail);
      },
    });
    progress({ kind: "entered", state: STATE_NAMES.trainEvaluated, type: "Task" });
    progress({ kind: "entered", state: STATE_NAMES.checkExtract, type: "Task" });
    progress({
      kind: "failed",
      state: STATE_NAMES.checkExtract,
      type: "Task",
      seconds: 0,
      detail: 'InsufficientData: Tenant "demo-shop", window 2026-11-30..2026-12-06: 0 training session(s)',
    });
    expect(recording.events).toEqual([
      "start Train the evaluated model on this machine's CPU",
      `start ${STATE_NAMES.checkExtract}`,
      `end ${STATE_NAMES.checkExtract} failed`,
    ]);
    expect(details).toEqual(["InsufficientData"]);
  });

  it("shows a poll loop once and then as a counter, and closes the counter when the next stage starts", () => {
    const reporter = createRecordingReporter();
    const progress = createStateProgress(reporter);
    for (let poll = 0; poll < 3; poll++) {
      progress({ kind: "entered", state: STATE_NAMES.checkDbtRun, type: "Task" });
      progress({ kind: "exited", state: STATE_NAMES.checkDbtRun, type: "Task", seconds: 0.1 });
    }
    progress({ kind: "entered", state: STATE_NAMES.startExtract, type: "Task" });
    progress({ kind: "entered", state: STATE_NAMES.extractFailed, type: "Fail" });
    progress({
      kind: "failed",
      state: STATE_NAMES.extractFailed,
      type: "Fail",
      seconds: 0,
      detail: "ExtractFailed: x",
    });
    expect(reporter.events).toEqual([
      `start ${STATE_NAMES.checkDbtRun}`,
      `end ${STATE_NAMES.checkDbtRun} succeeded`,
      `progress ${STATE_NAMES.checkDbtRun} 2/?`,
      `progress ${STATE_NAMES.checkDbtRun} 3/?`,
      `done ${STATE_NAMES.checkDbtRun}`,
      `start ${STATE_NAMES.startExtract}`,
      `✖ ${STATE_NAMES.extractFailed}`,
    ]);
  });
});
