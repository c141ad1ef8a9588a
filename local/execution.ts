import "./polyfills.ts";
import {
  ExecutionAbortedError,
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import type { StageTiming } from "./run-record.ts";

type JSONValue = Parameters<StateMachine["run"]>[0];
type Overrides = NonNullable<RunOptions["overrides"]>;

export type TaskOverride = (input: JSONValue) => Promise<JSONValue>;

/** One state's lifecycle event, as the live progress output consumes them. */
export type StateEvent =
  | { readonly kind: "entered"; readonly state: string; readonly type: string }
  | {
      readonly kind: "exited" | "failed";
      readonly state: string;
      readonly type: string;
      readonly seconds: number;
      readonly detail?: string;
    }
  | { readonly kind: "retried"; readonly state: string; readonly type: string; readonly attempt: number };

export interface LocalExecutionOptions {
  readonly definition: StateMachineDefinition;
  readonly input: JSONValue;
  readonly executionName: string;
  readonly stateMachineName?: string;
  readonly taskOverrides: Readonly<Record<string, TaskOverride>>;
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  readonly retryIntervalOverrides?: Overrides["retryIntervalOverrides"];
  readonly onStateEvent?: (event: StateEvent) => void;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}

export interface LocalExecutionOutcome {
  readonly status: "succeeded" | "failed" | "aborted";
  readonly output?: unknown;
  /** The execution state as the last state left it (the whole `$`), for the run record on any outcome. */
  readonly lastState?: unknown;
  readonly error?: { readonly name: string; readonly cause: string; readonly state?: string };
  readonly stages: StageTiming[];
}

/** ARNs the context object carries, shaped like the cloud's so `$$.Execution.Id` parses the same way. */
export function localExecutionArn(stateMachineName: string, executionName: string): string {
  return `arn:aws:states:local:000000000000:execution:${stateMachineName}:${executionName}`;
}

/** The signal's name when the CLI aborted on one (`controller.abort("SIGTERM")`). */
function stopReason(signal: AbortSignal | undefined): string {
  return typeof signal?.reason === "string" ? signal.reason : "SIGINT";
}

function causeText(cause: unknown): string {
  if (typeof cause === "string") return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause);
}

/**
 * Runs a state machine definition with aws-local-stepfunctions and reports every state as it
 * starts and ends. Each Task runs the override given for its state name; a Task without one would
 * call AWS, so every Task must have one (checked before the run starts).
 */
export async function executeLocally(options: LocalExecutionOptions): Promise<LocalExecutionOutcome> {
  const missing = Object.entries(options.definition.States)
    .filter(([name, state]) => state.Type === "Task" && !options.taskOverrides[name])
    .map(([name]) => name);
  if (missing.length > 0)
    throw new Error(`The local twin has no local handler for the Task state(s): ${missing.join(", ")}`);

  const now = options.now ?? (() => new Date());
  const stateMachineName = options.stateMachineName ?? "pms-local";
  const startTime = now().toISOString();
  // The library's StateFailed event carries an error's inner `cause` when it has one; Step Functions
  // (and the library's own Catch) report the error's message, so that is what progress shows.
  const thrown = new Map<string, string>();
  const machine = new StateMachine(options.definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(options.input, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        Object.entries(options.taskOverrides).map(([name, override]) => [
          name,
          async (input: JSONValue) => {
            try {
              return await override(input);
            } catch (error) {
              thrown.set(name, error instanceof Error ? error.message : String(error));
              throw error;
            }
          },
        ]),
      ) as Overrides["taskResourceLocalHandlers"],
      waitTimeOverrides: options.waitTimeOverrides as Overrides["waitTimeOverrides"],
      retryIntervalOverrides: options.retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: localExecutionArn(stateMachineName, options.executionName),
        Name: options.executionName,
        StartTime: startTime,
        Input: options.input,
        RoleArn: "arn:aws:iam::000000000000:role/pms-local",
        // `$$.Execution.RedriveCount` is read by the polling checks; a local execution is never redriven.
        RedriveCount: 0,
      },
      StateMachine: {
        Id: `arn:aws:states:local:000000000000:stateMachine:${stateMachineName}`,
        Name: stateMachineName,
      },
    } as RunOptions["context"],
  });

  const onAbort = () => execution.abort();
  if (options.signal?.aborted) execution.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const stages: StageTiming[] = [];
  const entered = new Map<string, { at: number; type: string }>();
  let lastState: unknown;
  let failedTask: string | undefined;
  let lastEntered: string | undefined;
  let executionFailure: { name: string; cause: string } | undefined;
  const emit = options.onStateEvent ?? (() => undefined);

  const close = (
    name: string,
    type: string,
    at: number,
    outcome: "succeeded" | "failed" | "aborted",
    detail?: string,
  ) => {
    const started = entered.get(name);
    // A state caught after failing is exited again by the library; it was already closed.
    if (!started) return;
    const seconds = (at - started.at) / 1000;
    entered.delete(name);
    stages.push({ state: name, type, startedAt: new Date(started.at).toISOString(), seconds, outcome });
    emit({
      kind: outcome === "succeeded" ? "exited" : "failed",
      state: name,
      type,
      seconds,
      ...(detail ? { detail } : {}),
    });
  };

  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === "ExecutionFailed") executionFailure = { name: event.Error, cause: causeText(event.Cause) };
      if (!("state" in event)) continue;
      const { name, type } = event.state;
      switch (event.type) {
        case "StateEntered":
          entered.set(name, { at: event.timestamp, type });
          lastEntered = name;
          emit({ kind: "entered", state: name, type });
          break;
        case "StateExited":
          if (event.state.output !== undefined) lastState = event.state.output;
          close(name, type, event.timestamp, "succeeded");
          break;
        case "StateFailed":
          if (type === "Task") failedTask = name;
          close(name, type, event.timestamp, "failed", `${event.Error}: ${thrown.get(name) ?? causeText(event.Cause)}`);
          thrown.delete(name);
          break;
        case "StateRetried":
          emit({ kind: "retried", state: name, type, attempt: event.retry.attempt + 1 });
          break;
        case "StateCaught":
          // The failure was handled by a Catch: the branch it leads to carries on the story.
          break;
      }
    }
  })();

  try {
    const output = await execution.result;
    await logs;
    return { status: "succeeded", output, lastState: output, stages };
  } catch (error) {
    // The engine can reject without ever closing its event stream (a RangeError on an input nested
    // thousands deep): the events it did emit are in, so waiting is bounded.
    await Promise.race([
      logs.catch(() => undefined),
      new Promise((resolveWait) => setTimeout(resolveWait, 1000).unref()),
    ]);
    if (error instanceof ExecutionAbortedError || options.signal?.aborted) {
      // The states running when the run was stopped end here, so their time is on the record.
      for (const [name, state] of [...entered.entries()]) close(name, state.type, Date.now(), "aborted");
      return {
        status: "aborted",
        lastState,
        error: { name: "Aborted", cause: `The run was stopped (${stopReason(options.signal)}).`, state: lastEntered },
        stages,
      };
    }
    if (error instanceof ExecutionError) {
      const inner = (error as ExecutionError & { cause?: unknown }).cause as { name?: string; message?: string };
      return {
        status: "failed",
        lastState,
        error: {
          // The thrown error's own message is the cause as Step Functions shows it (a Fail state's Cause,
          // a handler's message); the event's Cause would be the handler's inner `cause` object instead.
          name: inner?.name ?? executionFailure?.name ?? error.name,
          cause: inner?.message ?? executionFailure?.cause ?? error.message,
          state: failedTask ?? lastEntered,
        },
        stages,
      };
    }
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
