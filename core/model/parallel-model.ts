import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import type { Recommendation } from "../ports/model-host.ts";
import { unpackModelArchive } from "./artifact.ts";
import { ensureBackend } from "./backend.ts";
import { type LoadedModel, loadModelRecommender, type ModelMetadata, recommenderOf } from "./load.ts";

/**
 * A loaded model whose scoring is split across worker threads, each holding its own copy of the
 * model: wasm inference runs on one thread, and evaluation scores tens of thousands of points in
 * batches that split cleanly. Written by hand because no library runs TF.js models in a thread pool.
 *
 * The worker is this very module (in a Lambda bundle: the bundle), started with a flag in
 * `workerData`; the archive's bytes travel to each worker once.
 */
const WORKER_FLAG = "pmsScoringWorker";
/** Below this many sessions a batch goes to one worker: splitting costs more than it saves. */
const MIN_SESSIONS_PER_WORKER = 32;

interface ScoringResult {
  readonly recommendations: Recommendation[][];
  readonly fallback: boolean[];
}

type WorkerMessage =
  | { readonly kind: "ready"; readonly name: string; readonly metadata: ModelMetadata; readonly backend: string }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "result"; readonly id: number; readonly result: ScoringResult }
  | { readonly kind: "error"; readonly id: number; readonly message: string };

export class ScoringWorkerError extends Error {
  override readonly name = "ScoringWorkerError";
}

/**
 * Loads `model.tar.gz` into `threads` worker threads (default: one per CPU) and returns a model
 * that scores batches across them. One thread, or an extracted folder (a URI ending in `/`), loads
 * in this thread as `loadModelRecommender` does.
 */
export async function loadModelForScoring(
  store: ArtifactStore,
  modelUri: string,
  threads = availableParallelism(),
): Promise<LoadedModel> {
  if (threads < 2 || modelUri.endsWith("/")) return loadModelRecommender(store, modelUri);
  const bytes = await store.get(modelUri);
  const workers: Worker[] = [];
  try {
    const ready = [];
    for (let index = 0; index < threads; index++) {
      const worker = startWorker({ [WORKER_FLAG]: true, bytes, source: modelUri });
      workers.push(worker);
      ready.push(readyMessage(worker));
    }
    const [first] = await Promise.all(ready);
    return new ParallelModel(workers, first as Extract<WorkerMessage, { kind: "ready" }>);
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw error;
  }
}

function tsxEsmApi(): string {
  // require.resolve answers with the package's CommonJS entry; the ESM one sits beside it.
  return pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
}

function startWorker(data: Record<string, unknown>): Worker {
  const url = new URL(import.meta.url);
  // Run from TypeScript (tsx: the local twin, tests, benchmarks), the worker registers tsx's loader
  // before importing this module: the parent's loader hooks do not reach worker threads, and Node 20
  // ignores `--import` in a worker's execArgv. A bundle is plain JavaScript and starts directly.
  // tsx by absolute URL: an eval'd worker resolves bare names from the working directory, which
  // need not be this project's (`pms run` from any folder).
  const worker = url.pathname.endsWith(".ts")
    ? new Worker(
        `import(${JSON.stringify(tsxEsmApi())}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`,
        { eval: true, workerData: data },
      )
    : new Worker(url, { workerData: data });
  return worker;
}

function readyMessage(worker: Worker): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    worker.once("message", (message: WorkerMessage) => {
      if (message.kind === "ready") resolve(message);
      else reject(new ScoringWorkerError(message.kind === "failed" ? message.message : "unexpected first message"));
    });
    worker.once("error", (error) =>
      reject(new ScoringWorkerError(`a scoring thread failed to start: ${error.message}`)),
    );
  });
}

class ParallelModel implements LoadedModel {
  readonly name: string;
  readonly metadata: ModelMetadata;
  readonly backend: string;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { worker: Worker; resolve: (result: ScoringResult) => void; reject: (error: Error) => void }
  >();

  constructor(
    private readonly workers: readonly Worker[],
    ready: Extract<WorkerMessage, { kind: "ready" }>,
  ) {
    this.name = ready.name;
    this.metadata = ready.metadata;
    this.backend = `${ready.backend} × ${workers.length} threads`;
    for (const worker of workers) {
      // An idle worker never keeps the process alive on its own (`dispose` is the orderly end); one
      // with requests in flight does, so an awaited batch cannot be cut short by the process exiting.
      worker.unref();
      worker.on("message", (message: WorkerMessage) => {
        if (message.kind !== "result" && message.kind !== "error") return;
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (![...this.pending.values()].some((entry) => entry.worker === worker)) worker.unref();
        if (message.kind === "result") waiting?.resolve(message.result);
        else waiting?.reject(new ScoringWorkerError(message.message));
      });
      worker.on("error", (error) => this.failPending(worker, `a scoring thread failed: ${error.message}`));
      // A thread that dies without an error (out of memory, terminated) must not leave batches waiting.
      worker.on("exit", (code) => this.failPending(worker, `a scoring thread exited with code ${code}`));
    }
  }

  async recommendWithFallback(sessions: readonly (readonly string[])[], k: number): Promise<ScoringResult> {
    const parts = Math.max(1, Math.min(this.workers.length, Math.floor(sessions.length / MIN_SESSIONS_PER_WORKER)));
    const size = Math.ceil(sessions.length / parts);
    const results = await Promise.all(
      Array.from({ length: parts }, (_, part) =>
        this.score(this.workers[part] as Worker, sessions.slice(part * size, (part + 1) * size), k),
      ),
    );
    return {
      recommendations: results.flatMap((result) => result.recommendations),
      fallback: results.flatMap((result) => result.fallback),
    };
  }

  async recommend(sessions: readonly (readonly string[])[], k: number): Promise<Recommendation[][]> {
    return (await this.recommendWithFallback(sessions, k)).recommendations;
  }

  private score(worker: Worker, sessions: readonly (readonly string[])[], k: number): Promise<ScoringResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.ref();
      worker.postMessage({ id, sessions, k });
    });
  }

  private failPending(worker: Worker, message: string): void {
    for (const [id, waiting] of this.pending) {
      if (waiting.worker !== worker) continue;
      this.pending.delete(id);
      waiting.reject(new ScoringWorkerError(message));
    }
  }

  dispose(): void {
    for (const worker of this.workers) void worker.terminate();
  }
}

/** The worker side: load the model from the archive's bytes, then score what the parent sends. */
async function serveScoring(port: NonNullable<typeof parentPort>, data: { bytes: Uint8Array; source: string }) {
  try {
    // The parent learns the backend from the ready message and reports it once; a thread only
    // speaks up when a backend failed before one worked.
    await ensureBackend({
      log: (message) => {
        if (!message.startsWith("TF.js backend: ")) console.error(message);
      },
    });
    const model = recommenderOf(await unpackModelArchive(data.bytes, data.source));
    port.on("message", async (request: { id: number; sessions: string[][]; k: number }) => {
      try {
        const result = await model.recommendWithFallback(request.sessions, request.k);
        port.postMessage({ kind: "result", id: request.id, result } satisfies WorkerMessage);
      } catch (error) {
        port.postMessage({ kind: "error", id: request.id, message: (error as Error).message } satisfies WorkerMessage);
      }
    });
    port.postMessage({
      kind: "ready",
      name: model.name,
      metadata: model.metadata,
      backend: model.backend,
    } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ kind: "failed", message: (error as Error).message } satisfies WorkerMessage);
  }
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG]) {
  await serveScoring(parentPort, workerData as { bytes: Uint8Array; source: string });
}
