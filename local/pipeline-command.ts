import type { ExecutionInput } from "../core/pipeline/execution-input.ts";
import { generateCommand, warehouseEventDays } from "./data-commands.ts";
import { windowEndingAt } from "./default-window.ts";
import type { PmsHome } from "./home.ts";
import type { ProgressReporter } from "./progress.ts";
import { runCommand } from "./run-command.ts";
import type { LocalRunRecord } from "./run-record.ts";
import { SAMPLE_DAYS, SAMPLE_EVENTS } from "./sample-data.ts";

/** Days of the sample one run trains on (the last is the test day; validation is sampled from the others). */
export const SAMPLE_WINDOW_DAYS = 7;
/**
 * The quick start's training, sized for a laptop CPU minute rather than the nightly GPU run's
 * quality-tuned defaults (cdk.json: 128-d, batches of 32, exact softmax; about 5 minutes of wasm
 * training on the RSC15 sample). Measured on the sample here: these settings reach validation HR@20
 * 0.51 in 79 s, well above popularity (0.21). An input's own `training` fields win.
 */
export const QUICK_START_TRAINING = {
  epochs: 4,
  learningRate: 0.005,
  embeddingDim: 64,
  hiddenDim: 100,
  batchSize: 256,
  negativeSamples: 0,
  dropout: 0.25,
  minItemCount: 2,
  patience: 3,
} as const;

export interface PipelineCommandOptions {
  readonly home: PmsHome;
  readonly tenant: string;
  readonly input: ExecutionInput;
  readonly events?: number;
  readonly port?: number;
  readonly reporter: ProgressReporter;
  readonly print: (text: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * `npm run pipeline` (`pms pipeline`): sample data into an empty warehouse, then one local run on the
 * latest days of whatever the warehouse holds. The run's deployment leaves the endpoint serving.
 */
export async function pipelineCommand(options: PipelineCommandOptions): Promise<LocalRunRecord> {
  const { home, reporter } = options;
  let days = await warehouseEventDays(home, options.tenant);
  if (!days) {
    reporter.line(`The warehouse ${home.warehouse} has no events for tenant ${options.tenant}: generating a sample.`);
    await generateCommand({
      home,
      events: options.events ?? SAMPLE_EVENTS,
      days: SAMPLE_DAYS,
      // The catalogue gives the report its category and price slices and the perturbation test.
      catalog: true,
      tenant: options.tenant,
      reporter,
    });
    days = await warehouseEventDays(home, options.tenant);
    if (!days)
      throw new Error(`Generating the sample left no events for tenant ${options.tenant} in ${home.warehouse}`);
  } else {
    reporter.line(`The warehouse holds ${days.events.toLocaleString("en-US")} events, ${days.first}..${days.last}.`);
  }
  const input: ExecutionInput = {
    trigger: "local",
    window: windowEndingAt(days.first, days.last, SAMPLE_WINDOW_DAYS),
    ...options.input,
    training: { ...QUICK_START_TRAINING, ...options.input.training },
  };
  const record = await runCommand({
    home,
    input,
    reporter,
    print: options.print,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.port === undefined ? {} : { twin: { port: options.port } }),
  });
  if (record.status === "succeeded" && !record.deployed)
    options.print(`\nNothing was deployed (deploy mode). Serve this run's model with: pms serve --run ${record.runId}`);
  else if (record.deployed)
    options.print("\nThe endpoint keeps serving after this command; stop it with: pms serve --stop");
  return record;
}
