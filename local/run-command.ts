import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PIPELINE_ERRORS } from "../core/pipeline/contracts.ts";
import { chooseLocalWindow, insufficientDataHint } from "./default-window.ts";
import { loadPipelineDefinition, synthesizePipelineTemplate } from "./definition.ts";
import type { PmsHome } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";
import type { LocalRunRecord } from "./run-record.ts";
import { formatRunSummary } from "./summary.ts";
import { runLocalPipeline } from "./twin.ts";
import { createLocalTwin, type LocalTwinOptions } from "./wiring.ts";

export interface RunCommandOptions {
  readonly home: PmsHome;
  readonly input: unknown;
  readonly reporter: ProgressReporter;
  readonly print: (text: string) => void;
  readonly signal?: AbortSignal;
  readonly twin?: Omit<LocalTwinOptions, "home" | "reporter">;
  /** @default 200 */
  readonly waitMilliseconds?: number;
  /**
   * The configured run defaults a window-less input falls back to. With them, a run whose nightly
   * window holds no data takes the data's latest week instead (and says so), and an
   * InsufficientData failure ends with the warehouse's range and the `--input` to pass.
   */
  readonly runDefaults?: { readonly tenant: string; readonly lookbackDays: number };
}

/** The state machine as the cloud runs it, synthesized on a cache miss into a throw-away cdk.out. */
export async function pipelineDefinition(home: PmsHome, reporter: ProgressReporter) {
  const started = Date.now();
  const loaded = await loadPipelineDefinition(home, async () => {
    reporter.line("Synthesizing the CDK app (the state machine `cdk deploy` creates)…");
    const outdir = await mkdtemp(join(tmpdir(), "pms-cdk-out-"));
    try {
      return await synthesizePipelineTemplate(outdir);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });
  reporter.line(
    `State machine: ${Object.keys(loaded.definition.States).length} states ${loaded.cached ? "(cached definition" : "(synthesized"} in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return loaded.definition;
}

/** `pms run`: one local execution, its live progress and its summary. */
export async function runCommand(options: RunCommandOptions): Promise<LocalRunRecord> {
  const { home, reporter } = options;
  const given = isInputObject(options.input) ? options.input : undefined;
  const tenant = typeof given?.tenant === "string" ? given.tenant : options.runDefaults?.tenant;
  let input = options.input;
  if (given && !("window" in given) && options.runDefaults && tenant) {
    const choice = await chooseLocalWindow(home, { tenant, lookbackDays: options.runDefaults.lookbackDays });
    if (choice) {
      reporter.line(choice.note);
      input = { ...given, window: choice.window };
    }
  }
  const definition = await pipelineDefinition(home, reporter);
  const twin = createLocalTwin({ home, reporter, ...options.twin });
  try {
    const record = await runLocalPipeline({
      twin,
      definition,
      input,
      reporter,
      signal: options.signal,
      waitMilliseconds: options.waitMilliseconds,
    });
    options.print(formatRunSummary(record, { exampleSession: await twin.exampleSession(record) }));
    await twin.close();
    if (record.error?.name === INSUFFICIENT_DATA && tenant)
      options.print(
        `\n${await insufficientDataHint(home, { tenant, input: given ?? {}, ...(record.window ? { window: record.window } : {}) })}`,
      );
    return record;
  } finally {
    await twin.close();
  }
}

const INSUFFICIENT_DATA = PIPELINE_ERRORS.insufficientData;

function isInputObject(input: unknown): input is Readonly<Record<string, unknown>> {
  return typeof input === "object" && input !== null && !Array.isArray(input);
}
