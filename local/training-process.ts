import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { nodeEntryArgs, TRAINING_IMAGE_ENTRY } from "./entry-points.ts";

/**
 * The training stage of the local twin: the training container's own entry point, run as a child
 * process with the exact command the state machine gives Batch (`$.run.trainingCommand`). Its
 * output goes to the run's log; epoch lines also drive a progress bar.
 */
const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface TrainingProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Within the epoch, when the line says (`batch 12/100`). */
  readonly batch?: number;
  readonly batches?: number;
  /** The epoch's closing line (`epoch 3/10 done … hr@20 …`). */
  readonly epochDone: boolean;
  readonly detail: string;
}

export interface TrainingProcessOptions {
  readonly command: readonly string[];
  readonly logPath: string;
  /** Put before each line in the log, so two trainings running at once stay apart (`[served] `). */
  readonly logPrefix?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TrainingProgress) => void;
  readonly onLine?: (line: string) => void;
  /** Extra environment for the child (e.g. the TF.js backend). */
  readonly env?: NodeJS.ProcessEnv;
  /** @default the training image's entry point */
  readonly entryPoint?: string;
}

export class TrainingProcessError extends Error {
  override readonly name = "TrainingProcessError";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly lastLines: readonly string[],
  ) {
    super(message);
  }
}

/**
 * Reads the training loop's progress lines (`epoch 3/10 batch 12/100 loss … eta 40s`, and
 * `epoch 3/10 done loss … hr@20 …` at each epoch's end). Other lines are only logged.
 */
export function parseEpochLine(line: string): TrainingProgress | undefined {
  const match = /\bepoch\s+(\d+)\s*\/\s*(\d+)\b(.*)$/i.exec(line);
  if (!match?.[1] || !match[2]) return undefined;
  let rest = (match[3] ?? "").replace(/^[\s:,—-]+/, "").trim();
  const batch = /^batch\s+(\d+)\s*\/\s*(\d+)\s*/i.exec(rest);
  if (batch) rest = rest.slice(batch[0].length);
  const done = /^done\b\s*/i.exec(rest);
  if (done) rest = rest.slice(done[0].length);
  return {
    epoch: Number(match[1]),
    epochs: Number(match[2]),
    ...(batch ? { batch: Number(batch[1]), batches: Number(batch[2]) } : {}),
    epochDone: done !== null,
    detail: rest,
  };
}

/** Where a progress line puts training as a whole: epochs done plus the current epoch's share, in [0, epochs]. */
export function trainingPosition(progress: TrainingProgress): number {
  if (progress.epochDone) return progress.epoch;
  const within = progress.batch !== undefined && progress.batches ? progress.batch / progress.batches : 0;
  return progress.epoch - 1 + within;
}

const KEPT_LINES = 20;

export async function runTrainingProcess(options: TrainingProcessOptions): Promise<void> {
  await mkdir(dirname(options.logPath), { recursive: true });
  const log = createWriteStream(options.logPath, { flags: "a" });
  const lastLines: string[] = [];
  // `node --import tsx <entry>` is what `npx tsx <entry>` runs, minus npx's start-up.
  const child = spawn(
    process.execPath,
    [
      ...(options.entryPoint ? ["--import", "tsx", options.entryPoint] : nodeEntryArgs(TRAINING_IMAGE_ENTRY)),
      ...options.command,
    ],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );

  const onAbort = () => {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const follow = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      const lines = createInterface({ input: stream });
      lines.on("line", (line) => {
        log.write(`${options.logPrefix ?? ""}${line}\n`);
        lastLines.push(line);
        if (lastLines.length > KEPT_LINES) lastLines.shift();
        options.onLine?.(line);
        const progress = parseEpochLine(line);
        if (progress) options.onProgress?.(progress);
      });
      lines.on("close", resolve);
    });

  try {
    const [exit] = await Promise.all([
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal }));
      }),
      follow(child.stdout),
      follow(child.stderr),
    ]);
    if (exit.code !== 0) {
      const reason = options.signal?.aborted
        ? "stopped: the run was aborted"
        : `exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}`;
      const tail = lastLines.slice(-5).join("\n");
      throw new TrainingProcessError(`The training process ${reason}${tail ? `:\n${tail}` : ""}`, exit.code, [
        ...lastLines,
      ]);
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
