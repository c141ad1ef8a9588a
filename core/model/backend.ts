import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "./tf.ts";

/**
 * Run-time backend choice: `tensorflow` (tfjs-node-gpu or tfjs-node — only installed in the training
 * image, so imported by a name the bundler cannot follow), then `wasm`, then `cpu`.
 */
export const BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  readonly backend: BackendName;
  /** "GPU: <name> (driver …)" when TensorFlow runs on a GPU, otherwise "cpu". */
  readonly device: string;
}

export interface BackendOptions {
  /** Try only these, in this order. @default the one in `PMS_TF_BACKEND` if set, else BACKENDS */
  readonly candidates?: readonly BackendName[];
  /** Fail unless TensorFlow runs on a GPU. @default process.env.PMS_REQUIRE_GPU === "1" */
  readonly requireGpu?: boolean;
  readonly log?: (message: string) => void;
}

export class GpuUnavailableError extends Error {
  override readonly name = "GpuUnavailable";
}

export class BackendUnavailableError extends Error {
  override readonly name = "BackendUnavailable";
}

const run = promisify(execFile);

/** The GPU nvidia-smi reports, or null when there is no driver or device. */
export async function detectGpu(): Promise<{ name: string; driver: string; memory: string } | null> {
  try {
    const { stdout } = await run(
      "nvidia-smi",
      ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
      {
        timeout: 10_000,
      },
    );
    const [name, driver, memory] = (stdout.split("\n")[0] ?? "").split(",").map((part) => part.trim());
    return name ? { name, driver: driver ?? "unknown", memory: memory ?? "unknown" } : null;
  } catch {
    return null;
  }
}

async function importTensorflowBinding(log: (message: string) => void): Promise<string | null> {
  // A variable specifier keeps tsc and esbuild from resolving packages absent outside the image.
  for (const specifier of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(specifier);
      return specifier;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") {
        log(`${specifier} is installed but failed to load: ${(error as Error).message}`);
      }
    }
  }
  return null;
}

/** The binary the single-threaded Node build loads; its siblings (-simd, -threaded-simd) sit beside it. */
export const WASM_BINARY = "tfjs-backend-wasm.wasm";

/**
 * Where the wasm backend's .wasm binaries are: beside the running module first (a Lambda bundle has
 * them copied next to index.mjs and no node_modules to resolve the package from), else the installed
 * package's dist folder (tsx: the local twin, tests, the training image).
 */
export function wasmBinaryFolder(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  if (existsSync(join(here, WASM_BINARY))) return `${here}/`;
  let dist: string;
  try {
    dist = dirname(createRequire(moduleUrl).resolve("@tensorflow/tfjs-backend-wasm"));
  } catch (error) {
    throw new BackendUnavailableError(
      `${WASM_BINARY} is neither beside ${here} nor in an installed @tensorflow/tfjs-backend-wasm (bundle: copy the .wasm files next to the bundle)`,
      { cause: error },
    );
  }
  if (!existsSync(join(dist, WASM_BINARY)))
    throw new BackendUnavailableError(`@tensorflow/tfjs-backend-wasm is installed at ${dist} without ${WASM_BINARY}`);
  return `${dist}/`;
}

/** Points the wasm backend at its binaries (see `wasmBinaryFolder`). */
export function configureWasm(moduleUrl?: string): void {
  setWasmPaths(wasmBinaryFolder(moduleUrl));
  // Node's wasm build is single-threaded; asking for threads only adds a warning.
  setThreadsCount(1);
}

/** Selects and initialises the first usable backend, logs it, and says what it runs on. */
export function selectBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  selected = chooseBackend(options);
  return selected;
}

async function chooseBackend(options: BackendOptions): Promise<BackendInfo> {
  const log = options.log ?? ((message: string) => console.error(message));
  const requireGpu = options.requireGpu ?? process.env.PMS_REQUIRE_GPU === "1";
  const forced = process.env.PMS_TF_BACKEND as BackendName | undefined;
  if (forced !== undefined && !BACKENDS.includes(forced)) {
    throw new BackendUnavailableError(`PMS_TF_BACKEND=${forced} is not one of ${BACKENDS.join(", ")}`);
  }
  const candidates = options.candidates ?? (forced ? [forced] : BACKENDS);
  const failures: string[] = [];
  for (const backend of candidates) {
    if (backend === "tensorflow") {
      const binding = await importTensorflowBinding(log);
      if (!binding) {
        failures.push("tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed");
        continue;
      }
      if (!(await tf.setBackend("tensorflow"))) {
        failures.push(`tensorflow: ${binding} loaded but the backend did not initialise`);
        continue;
      }
      const gpu = binding.endsWith("-gpu") ? await detectGpu() : null;
      if (requireGpu && !gpu) {
        throw new GpuUnavailableError(
          `PMS_REQUIRE_GPU=1 but no usable GPU: ${binding === "@tensorflow/tfjs-node-gpu" ? "nvidia-smi sees no device (is the container started with the NVIDIA runtime / GPU resource?)" : "only the CPU build @tensorflow/tfjs-node is installed"}`,
        );
      }
      const device = gpu ? `GPU: ${gpu.name} (driver ${gpu.driver}, ${gpu.memory})` : "cpu";
      log(`TF.js backend: tensorflow via ${binding} on ${device}`);
      return { backend, device };
    }
    if (requireGpu) {
      throw new GpuUnavailableError(
        `PMS_REQUIRE_GPU=1 but the TensorFlow binding is unavailable (${failures.join("; ")}); refusing to fall back to ${backend}`,
      );
    }
    try {
      if (backend === "wasm") configureWasm();
      if (await tf.setBackend(backend)) {
        await tf.ready();
        // A fallback says why the backends before it were passed over (a Lambda on cpu instead of wasm
        // runs several times slower, and would otherwise only show in its duration).
        if (failures.length > 0) log(`TF.js backend ${backend} chosen after: ${failures.join("; ")}`);
        log(`TF.js backend: ${backend}`);
        return { backend, device: "cpu" };
      }
      failures.push(`${backend}: did not initialise`);
    } catch (error) {
      failures.push(`${backend}: ${(error as Error).message}`);
    }
  }
  throw new BackendUnavailableError(`No TF.js backend could be initialised: ${failures.join("; ")}`);
}

let selected: Promise<BackendInfo> | undefined;

/**
 * The backend of this process: the one `selectBackend` chose, or the default selection on first
 * use — so a caller that only loads a model (the evaluation Lambda) still gets wasm, not cpu.
 */
export function ensureBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  selected ??= selectBackend(options);
  return selected;
}
