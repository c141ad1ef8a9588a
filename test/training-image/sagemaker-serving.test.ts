import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../core/artifacts/filesystem.ts";
import { packTrainedModel, trainedModelMetadata } from "../../core/model/artifact.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { trainSessionModel } from "../../core/model/training.ts";
import { chainSessions, SMALL_PARAMETERS } from "../core/model/fixture.ts";

/**
 * The serving entry started the way SageMaker starts the container, as far as that goes without
 * Docker ("Custom Inference Code with Hosting Services",
 * docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html): the single argument
 * `serve`, the model archive extracted into an /opt/ml/model layout, the port from
 * SAGEMAKER_BIND_TO_PORT, GET /ping and POST /invocations, and SIGTERM (then SIGKILL after 30 s) to stop.
 */
const ENTRY = new URL("../../training-image/src/main.ts", import.meta.url).pathname;
let root: string;
let modelDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  root = await mkdtemp(join(tmpdir(), "pms-sagemaker-serve-"));
  const trained = await trainSessionModel(chainSessions(100, 40, 1), [], { ...SMALL_PARAMETERS, epochs: 1 });
  const archive = join(root, "model.tar.gz");
  const metadata = trainedModelMetadata(trained, {
    runId: "sm-serve",
    hyperparameters: SMALL_PARAMETERS,
    trainedOn: "wasm",
  });
  await new FileSystemArtifactStore().put(archive, await packTrainedModel(trained, metadata));
  trained.model.dispose();
  // SageMaker downloads ModelDataUrl and extracts it into /opt/ml/model before starting the container.
  modelDir = join(root, "opt/ml/model");
  await mkdir(modelDir, { recursive: true });
  await tar.extract({ file: archive, cwd: modelDir });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("the serving image's entry, run as SageMaker runs it", () => {
  it("`serve` alone: reads /opt/ml/model, listens on SAGEMAKER_BIND_TO_PORT, answers /ping and /invocations, stops on SIGTERM", async () => {
    // Prepare
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", ENTRY, "serve"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PMS_TF_BACKEND: "wasm", PMS_MODEL_DIR: modelDir, SAGEMAKER_BIND_TO_PORT: String(port) },
    });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += String(chunk)));
    child.stderr?.on("data", (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    try {
      // Act: SageMaker pings until the container answers 200.
      const deadline = Date.now() + 90_000;
      let ping = 0;
      while (ping !== 200 && Date.now() < deadline) {
        ping = await fetch(`http://127.0.0.1:${port}/ping`).then(
          (response) => response.status,
          () => 0,
        );
        if (ping !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ sessions: [["sku-1", "sku-8"], ["never-seen"]], k: 5 }),
      });
      const body = (await response.json()) as { recommendations: unknown[][]; fallback: boolean[] };

      // Assess
      expect(ping, output).toBe(200);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/application\/json/);
      expect(body.recommendations.map((list) => list.length)).toEqual([5, 5]);
      expect(body.fallback).toEqual([false, true]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
