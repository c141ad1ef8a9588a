import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../core/artifacts/index.ts";
import { runArtifactUris } from "../../core/pipeline/run-context.ts";
import { LocalEndpointChampionSource } from "../../local/local-champion.ts";
import type { LocalEndpointState } from "../../local/model-host.ts";

async function homeWith(endpoint: Partial<LocalEndpointState> | null) {
  const home = await mkdtemp(join(tmpdir(), "pms-champion-"));
  if (endpoint)
    await writeFile(
      join(home, "endpoint.json"),
      JSON.stringify({
        endpointName: "pms-recommender",
        port: 8080,
        proxyPid: 1,
        controlToken: "t",
        status: "InService",
        current: null,
        previous: null,
        updatedAt: "",
        ...endpoint,
      }),
    );
  return home;
}

const serving = {
  endpointConfigName: "pms-recommender-r1",
  runId: "r1",
  modelUri: "/models/r1/model.tar.gz",
  backendPort: 9000,
  pid: 2,
  startedAt: "",
};

describe("LocalEndpointChampionSource", () => {
  it("is the model the local endpoint serves, with the metrics its run recorded", async () => {
    // Prepare
    const home = await homeWith({ current: serving });
    const metricsUri = runArtifactUris(home, "r1").metrics;
    await mkdir(join(home, "runs", "r1", "report"), { recursive: true });
    await writeFile(metricsUri, JSON.stringify({ challenger: { metrics: { "hr@20": 0.5, "mrr@20": 0.2 } } }));
    // Act
    const champion = await new LocalEndpointChampionSource(home, new FileSystemArtifactStore()).findChampion();
    // Assess
    expect(champion).toEqual({
      modelUri: "/models/r1/model.tar.gz",
      storedMetrics: { "hr@20": 0.5, "mrr@20": 0.2 },
      description: "local endpoint pms-recommender → pms-recommender-r1 (run r1, /models/r1/model.tar.gz)",
    });
  });

  it("is none when nothing serves: no endpoint, or one that failed", async () => {
    const store = new FileSystemArtifactStore();
    expect(await new LocalEndpointChampionSource(await homeWith(null), store).findChampion()).toBeUndefined();
    expect(
      await new LocalEndpointChampionSource(await homeWith({ status: "Failed", current: null }), store).findChampion(),
    ).toBeUndefined();
  });

  it("still names a served model without run metrics (served by path), for Evaluate to re-score", async () => {
    const home = await homeWith({ current: { ...serving, runId: "manual" } });
    const champion = await new LocalEndpointChampionSource(home, new FileSystemArtifactStore()).findChampion();
    expect(champion?.modelUri).toBe("/models/r1/model.tar.gz");
    expect(champion?.storedMetrics).toBeUndefined();
  });
});
