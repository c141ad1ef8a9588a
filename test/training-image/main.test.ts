import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../core/artifacts/filesystem.ts";
import { packTrainedModel, trainedModelMetadata } from "../../core/model/artifact.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { trainSessionModel } from "../../core/model/training.ts";
import { chainSessions, SMALL_PARAMETERS } from "../core/model/fixture.ts";

const ENTRY = new URL("../../training-image/src/main.ts", import.meta.url).pathname;
let folder: string;
let modelPath: string;

function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PMS_TF_BACKEND: "wasm", ...env },
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += String(chunk)));
  child.stderr?.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  folder = await mkdtemp(join(tmpdir(), "pms-main-test-"));
  const trained = await trainSessionModel(chainSessions(100, 40, 1), [], { ...SMALL_PARAMETERS, epochs: 1 });
  modelPath = join(folder, "model.tar.gz");
  const metadata = trainedModelMetadata(trained, {
    runId: "cli-test",
    hyperparameters: SMALL_PARAMETERS,
    codeVersion: "test",
    trainedOn: "wasm",
  });
  await new FileSystemArtifactStore().put(modelPath, await packTrainedModel(trained, metadata));
  trained.model.dispose();
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("main.ts", () => {
  it("serve: loads model.tar.gz, answers /ping and /invocations, and exits 0 on SIGTERM", async () => {
    const server = start(["serve", "--model", modelPath, "--port", "0", "--host", "127.0.0.1", "--workers", "1"]);
    const deadline = Date.now() + 60_000;
    let port: number | undefined;
    while (!port && Date.now() < deadline) {
      port = Number(/on port (\d+)/.exec(server.output())?.[1]) || undefined;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(port, server.output()).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${port}/ping`)).status).toBe(200);
    const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
      method: "POST",
      body: JSON.stringify({ sessions: [["sku-1"]], k: 4 }),
    });
    expect(((await response.json()) as { recommendations: unknown[][] }).recommendations[0]).toHaveLength(4);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: no new requests/);
  });

  it("serve --workers 2: two processes share the port and all stop on SIGTERM", async () => {
    const server = start(["serve", "--model", modelPath, "--port", "0", "--host", "127.0.0.1", "--workers", "2"]);
    const deadline = Date.now() + 90_000;
    while ((server.output().match(/on port \d+/g) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ports = [...server.output().matchAll(/on port (\d+)/g)].map((match) => match[1]);
    expect(ports, server.output()).toHaveLength(2);
    expect(ports[0]).toBe(ports[1]);
    expect((await fetch(`http://127.0.0.1:${ports[0]}/ping`)).status).toBe(200);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("serve: an invalid PMS_SERVE_WORKERS exits 1 naming it", async () => {
    // Act
    const server = start(["serve", "--model", modelPath, "--port", "0"], { PMS_SERVE_WORKERS: "two" });

    // Assess
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/PMS_SERVE_WORKERS must be a whole number/);
  });

  it("train: a missing flag exits 1 naming it", async () => {
    const run = start(["train", "--run-id", "r1"]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/--train-data/);
  });

  it("train: --refit without --test-data, or --test-data without --refit, exits 1 naming the other flag", async () => {
    const common = ["--run-id", "r1", "--train-data", "t/", "--validation-data", "v/"];
    const outputs = ["--model-output", `${folder}/m.tar.gz`, "--metrics-output", `${folder}/m.json`];
    const refitAlone = start(["train", "--refit", ...common, ...outputs]);
    const testDataAlone = start(["train", "--test-data", "x/", ...common, ...outputs]);
    expect(await refitAlone.exited).toBe(1);
    expect(refitAlone.output()).toMatch(/--refit trains on the test split too: give .* --test-data/);
    expect(await testDataAlone.exited).toBe(1);
    expect(testDataAlone.output()).toMatch(/--test-data is only read with --refit/);
  });
});
