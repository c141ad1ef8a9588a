/**
 * `npm run bench -- endpoint [--seconds 8] [--connections 8]`: the local endpoint under load.
 *
 * - proxy overhead: autocannon straight at a serving process, then through the front proxy;
 * - swap: autocannon at the public port while model B replaces model A (real serving processes,
 *   `training-image/src/main.ts serve`, two tiny models trained here), counting every request and
 *   every error, non-2xx answer and timeout during the swap.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSystemArtifactStore } from "../core/artifacts/filesystem.ts";
import { packTrainedModel, trainedModelMetadata } from "../core/model/artifact.ts";
import { selectBackend } from "../core/model/backend.ts";
import { trainSessionModel } from "../core/model/training.ts";
import { freePort, LocalModelHost } from "../local/model-host.ts";

/** autocannon ships no type declarations; these are the fields read here. */
interface AutocannonResult {
  readonly requests: { readonly total: number; readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}
type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => unknown;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const PARAMETERS = {
  epochs: 1,
  embeddingDim: 16,
  hiddenDim: 16,
  maxLength: 10,
  batchSize: 32,
  learningRate: 0.05,
  negativeSamples: 0,
  dropout: 0,
  minItemCount: 1,
  patience: 0,
  seed: 3,
};

function option(args: string[], flag: string, fallback: number): number {
  const index = args.indexOf(flag);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number`);
  return value;
}

/** A tiny model.tar.gz over 500 items: the figures are about the endpoint, not the model. */
export async function tinyModel(folder: string, name: string, seed: number): Promise<string> {
  const sessions = Array.from({ length: 300 }, (_, index) =>
    Array.from({ length: 2 + (index % 4) }, (_, step) => `sku-${(index * 7 + step * 3 + seed) % 500}`),
  );
  const trained = await trainSessionModel(sessions, [], { ...PARAMETERS, seed });
  const uri = join(folder, `${name}.tar.gz`);
  const metadata = trainedModelMetadata(trained, {
    runId: name,
    hyperparameters: { ...PARAMETERS, seed },
    codeVersion: "bench",
    trainedOn: "wasm",
  });
  await new FileSystemArtifactStore().put(uri, await packTrainedModel(trained, metadata));
  return uri;
}

export interface Load {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

function summary(result: AutocannonResult): Load {
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Load on the port until `seconds` pass, or until `stop()` when started without a duration. */
export function load(port: number, connections: number, seconds?: number): { result: Promise<Load>; stop(): void } {
  let instance: { stop(): void } | undefined;
  const result = new Promise<Load>((resolveLoad, reject) => {
    instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/invocations`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sessions: [["sku-1", "sku-8", "sku-15"]], k: 20 }),
        connections,
        duration: seconds ?? 3600,
      },
      (error, outcome) => (error ? reject(error) : resolveLoad(summary(outcome))),
    ) as { stop(): void };
  });
  return { result, stop: () => instance?.stop() };
}

const pause = (seconds: number) => new Promise((resolvePause) => setTimeout(resolvePause, seconds * 1000));

export async function run(args: string[]) {
  const seconds = option(args, "--seconds", 8);
  const connections = option(args, "--connections", 8);
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  const home = await mkdtemp(join(tmpdir(), "pms-bench-endpoint-"));
  const host = new LocalModelHost({ home, port: await freePort(), endpointName: "pms-bench" });
  try {
    const [modelA, modelB] = [await tinyModel(home, "a", 3), await tinyModel(home, "b", 5)];
    await host.deploy({ endpointName: "pms-bench", runId: "a", shortId: "a0000001", modelUri: modelA });
    const state = await host.read();
    if (!state?.current) throw new Error("the first deployment did not start");
    await load(state.current.backendPort, connections, 2).result; // warm-up
    const direct = await load(state.current.backendPort, connections, seconds).result;
    const proxied = await load(state.port, connections, seconds).result;

    // The load runs from before the deploy call until `seconds` after the switch.
    const during = load(state.port, connections);
    await pause(seconds / 2);
    const swapStarted = performance.now();
    await host.deploy({ endpointName: "pms-bench", runId: "b", shortId: "b0000002", modelUri: modelB });
    const swapSeconds = (performance.now() - swapStarted) / 1000;
    await pause(seconds / 2);
    during.stop();
    const swap = await during.result;
    const after = await host.status("pms-bench");
    return {
      connections,
      seconds,
      proxyOverhead: { direct, proxied },
      swapUnderLoad: {
        ...swap,
        /** From the deploy call to the switch: starting B's process and waiting for its /ping. */
        deploySeconds: Math.round(swapSeconds * 100) / 100,
        servingAfter: after.endpointConfigName,
      },
    };
  } finally {
    await host.deleteEndpoint("pms-bench");
    await rm(home, { recursive: true, force: true });
  }
}
