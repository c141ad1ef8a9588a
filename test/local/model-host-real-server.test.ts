import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../core/artifacts/filesystem.ts";
import { refreshDeploymentState, startDeployment } from "../../core/deploy/deployment-state.ts";
import { runSmokeTest } from "../../core/deploy/smoke-test.ts";
import { packTrainedModel, trainedModelMetadata } from "../../core/model/artifact.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { trainSessionModel } from "../../core/model/training.ts";
import { freePort, LocalModelHost } from "../../local/model-host.ts";

/**
 * The same swap, against the model room's real serving process (`training-image/src/main.ts serve`,
 * started by the host's default command) and two tiny trained models whose catalogues differ
 * ("a-…" and "b-…" SKUs), so every answer says which model gave it.
 */
const ENDPOINT = "pms-local";
const PARAMETERS = {
  epochs: 1,
  embeddingDim: 8,
  hiddenDim: 8,
  maxLength: 5,
  batchSize: 32,
  learningRate: 0.05,
  negativeSamples: 0,
  dropout: 0,
  minItemCount: 1,
  patience: 0,
  seed: 3,
};

let home: string;
let host: LocalModelHost;
let port: number;

/** A tiny model.tar.gz over 30 items named `<prefix>-<n>`. */
async function tinyModel(prefix: string): Promise<string> {
  const sessions = Array.from({ length: 60 }, (_, index) =>
    Array.from({ length: 2 + (index % 3) }, (_, step) => `${prefix}-${(index * 7 + step * 3) % 30}`),
  );
  const trained = await trainSessionModel(sessions, [], PARAMETERS);
  const uri = join(home, `${prefix}.tar.gz`);
  const metadata = trainedModelMetadata(trained, {
    runId: `run-${prefix}`,
    hyperparameters: PARAMETERS,
    codeVersion: "test",
    trainedOn: "wasm",
    createdAt: "2026-11-26T00:00:00.000Z",
  });
  await new FileSystemArtifactStore().put(uri, await packTrainedModel(trained, metadata));
  return uri;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "pms-endpoint-real-"));
  port = await freePort();
  host = new LocalModelHost({ home, port, endpointName: ENDPOINT, startupTimeoutMs: 90_000, drainTimeoutMs: 10_000 });
  await selectBackend({ candidates: ["wasm"], log: () => {} });
});

afterAll(async () => {
  await host?.deleteEndpoint(ENDPOINT);
});

describe("LocalModelHost with the training image's serving process", () => {
  it("swaps model A for B under load without a failed request, and keeps B when a corrupt C is deployed", async () => {
    // Prepare
    const [modelA, modelB] = [await tinyModel("a"), await tinyModel("b")];
    const corrupt = join(home, "c.tar.gz");
    await writeFile(corrupt, "this is not a gzip archive");
    await startDeployment(
      host,
      { endpointName: ENDPOINT, runId: "run-a", shortId: "a0000001", modelUri: modelA },
      {
        timeoutSeconds: 120,
      },
    );
    const counts = { total: 0, failed: 0, a: 0, b: 0 };
    const failures: string[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        counts.total += 1;
        try {
          const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ sessions: [["a-1", "b-1"], ["unknown"]], k: 10 }),
          });
          const body = (await response.json()) as { recommendations?: { sku: string }[][] };
          const sku = body.recommendations?.[1]?.[0]?.sku ?? "";
          if (!response.ok || body.recommendations?.[0]?.length !== 10) {
            counts.failed += 1;
            failures.push(`${response.status} ${JSON.stringify(body).slice(0, 120)}`);
          } else if (sku.startsWith("a-")) counts.a += 1;
          else counts.b += 1;
        } catch (error) {
          counts.failed += 1;
          failures.push(String(error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));

    // Act
    const deployedB = await startDeployment(
      host,
      { endpointName: ENDPOINT, runId: "run-b", shortId: "b0000002", modelUri: modelB },
      { timeoutSeconds: 120 },
    );
    const smokeB = await runSmokeTest(host, deployedB, [["b-1", "b-4"], ["b-7"]], { k: 10, catalogueSize: 30 });
    const deployedC = await startDeployment(
      host,
      { endpointName: ENDPOINT, runId: "run-c", shortId: "c0000003", modelUri: corrupt },
      { timeoutSeconds: 120 },
    );
    const checkedC = await refreshDeploymentState(host, deployedC);
    running = false;
    await load;
    console.info(`[load, real server] A→B, then corrupt C: ${JSON.stringify(counts)}`);

    // Assess
    expect(failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
    expect(await refreshDeploymentState(host, deployedB)).toMatchObject({ status: "InService", succeeded: true });
    expect(smokeB).toMatchObject({ passed: true, problems: [] });
    expect(checkedC).toMatchObject({ finished: true, succeeded: false });
    expect(checkedC.failureReason).toMatch(/pms-local-c0000003 did not become healthy: the process exited/);
    expect((await host.status(ENDPOINT)).endpointConfigName).toBe("pms-local-b0000002");
  });
});
