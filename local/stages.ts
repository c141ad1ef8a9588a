import { STATE_NAMES } from "../lib/pipeline/state-names.ts";
import type { StateEvent } from "./execution.ts";
import { formatSeconds, type ProgressReporter } from "./progress.ts";
import type { StageTiming } from "./run-record.ts";
import { readableCause } from "./summary.ts";

/**
 * The pipeline's stages as a person reads them, each the group of states that implement it (a
 * start Task, its Wait/Check/Choice poll loop, the Pass that describes its failure). Per-stage
 * timings are wall time from the stage's first state to its last.
 */
export const STAGES: readonly { readonly stage: string; readonly states: readonly string[] }[] = [
  { stage: "Prepare", states: [STATE_NAMES.prepareRun] },
  {
    stage: "Transform (dbt)",
    states: [
      STATE_NAMES.startDbtRun,
      STATE_NAMES.waitForDbtRun,
      STATE_NAMES.checkDbtRun,
      STATE_NAMES.isDbtRunFinished,
      STATE_NAMES.cancelDbtRun,
      STATE_NAMES.describeDbtRunFailure,
      STATE_NAMES.describeDbtRunTimeout,
    ],
  },
  {
    stage: "Extract",
    states: [
      STATE_NAMES.startExtract,
      STATE_NAMES.waitForExtract,
      STATE_NAMES.checkExtract,
      STATE_NAMES.isExtractFinished,
    ],
  },
  {
    stage: "Train",
    states: [
      STATE_NAMES.train,
      STATE_NAMES.trainEvaluated,
      STATE_NAMES.trainServed,
      STATE_NAMES.describeEvaluatedTrainingFailure,
      STATE_NAMES.describeEvaluatedTrainingTimeout,
      STATE_NAMES.describeServedTrainingFailure,
      STATE_NAMES.describeServedTrainingTimeout,
    ],
  },
  { stage: "Evaluate", states: [STATE_NAMES.evaluate, STATE_NAMES.checkServedModel] },
  {
    stage: "Register and gate",
    states: [STATE_NAMES.registerModel, STATE_NAMES.shouldDeploy, STATE_NAMES.describeGateRejection],
  },
  {
    stage: "Deploy",
    states: [
      STATE_NAMES.startDeployment,
      STATE_NAMES.waitForEndpoint,
      STATE_NAMES.checkEndpoint,
      STATE_NAMES.isEndpointInService,
      STATE_NAMES.describeDeploymentFailure,
    ],
  },
  {
    stage: "Smoke test",
    states: [STATE_NAMES.smokeTest, STATE_NAMES.rollBackEndpoint, STATE_NAMES.describeSmokeTestFailure],
  },
  { stage: "Clean up", states: [STATE_NAMES.cleanUpDeployments] },
];

/** `Error: cause` → `Error`; a detail without a name keeps its first line (a Batch job description reduced to its reason). */
function errorName(detail: string): string {
  const colon = detail.indexOf(": ");
  if (colon > 0 && /^\w+$/.test(detail.slice(0, colon))) return detail.slice(0, colon);
  return readableCause(detail).split("\n")[0] ?? "";
}

/**
 * The state as the local run shows it. The cloud's training state runs a GPU Batch job; the twin
 * runs the same entry point on this machine's CPU, and its output must not claim a GPU.
 */
export function localStateLabel(state: string): string {
  return state.startsWith("Train the ") && state.endsWith(" on a GPU")
    ? `${state.slice(0, -" on a GPU".length)} on this machine's CPU`
    : state;
}

const STAGE_OF = new Map(STAGES.flatMap(({ stage, states }) => states.map((state) => [state, stage] as const)));

export function stageOf(state: string): string | undefined {
  return STAGE_OF.get(state);
}

export interface StageSummary {
  readonly stage: string;
  readonly seconds: number;
  readonly outcome: "succeeded" | "failed" | "aborted";
  /** How many times the stage's check ran (its poll loop), when it polled. */
  readonly polls: number;
}

/** Per-stage wall time and outcome from the states' timings, in pipeline order. */
export function summarizeStages(timings: readonly StageTiming[]): StageSummary[] {
  const byStage = new Map<string, StageTiming[]>();
  for (const timing of timings) {
    const stage = stageOf(timing.state);
    if (!stage) continue;
    byStage.set(stage, [...(byStage.get(stage) ?? []), timing]);
  }
  return STAGES.flatMap(({ stage, states }) => {
    const members = byStage.get(stage);
    if (!members) return [];
    const start = Math.min(...members.map((timing) => Date.parse(timing.startedAt)));
    const end = Math.max(...members.map((timing) => Date.parse(timing.startedAt) + timing.seconds * 1000));
    const checks = states.filter((state) => state.startsWith("Check "));
    return [
      {
        stage,
        seconds: (end - start) / 1000,
        outcome: members.some((timing) => timing.outcome === "failed")
          ? "failed"
          : members.some((timing) => timing.outcome === "aborted")
            ? "aborted"
            : "succeeded",
        polls: members.filter((timing) => checks.includes(timing.state)).length,
      },
    ];
  });
}

/**
 * Live output of a local execution: each state as it starts and ends, with its duration. A poll
 * loop (Wait → Check → Choice, again and again) is shown once, as a counter, not as hundreds of lines.
 */
export function createStateProgress(reporter: ProgressReporter): (event: StateEvent) => void {
  const seen = new Map<string, number>();
  const polled = (state: string) => (seen.get(state) ?? 0) > 1;
  let pollingState: string | undefined;
  return (event) => {
    switch (event.kind) {
      case "entered": {
        seen.set(event.state, (seen.get(event.state) ?? 0) + 1);
        if (pollingState && stageOf(event.state) !== stageOf(pollingState)) {
          reporter.progressDone(pollingState, `${seen.get(pollingState)} checks`);
          pollingState = undefined;
        }
        if (event.type === "Fail") reporter.line(`✖ ${event.state}`);
        else if (event.type === "Succeed") reporter.line(`✔ ${event.state}`);
        else if (event.type === "Task" && !polled(event.state))
          reporter.stateStarted(localStateLabel(event.state), event.type);
        break;
      }
      case "exited":
        if (event.type !== "Task") break;
        if (polled(event.state)) {
          pollingState = event.state;
          reporter.progress(
            event.state,
            seen.get(event.state) ?? 0,
            undefined,
            `checks, last took ${formatSeconds(event.seconds)}`,
          );
        } else reporter.stateEnded(localStateLabel(event.state), event.seconds, "succeeded", event.detail);
        break;
      case "failed":
        // A Fail state was announced when entered; its "failure" is the execution's end, not news.
        // The error's name only: the run's summary prints its cause once, in full.
        if (event.type !== "Fail")
          reporter.stateEnded(
            localStateLabel(event.state),
            event.seconds,
            "failed",
            event.detail && errorName(event.detail),
          );
        break;
      case "retried":
        reporter.line(`↻ ${event.state}: retrying (attempt ${event.attempt})`);
        break;
    }
  };
}
