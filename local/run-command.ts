import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  const definition = await pipelineDefinition(home, reporter);
  const twin = createLocalTwin({ home, reporter, ...options.twin });
  try {
    const record = await runLocalPipeline({
      twin,
      definition,
      input: options.input,
      reporter,
      signal: options.signal,
      waitMilliseconds: options.waitMilliseconds,
    });
    options.print(formatRunSummary(record, { exampleSession: await twin.exampleSession(record) }));
    return record;
  } finally {
    await twin.close();
  }
}
