import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { FileModelRegistry } from "../../../core/deploy/file-registry.ts";
import { evaluation, runContext } from "./fixtures.ts";

describe("FileModelRegistry (the local twin's registry)", () => {
  it("numbers versions per group with SageMaker's approval rules and metadata", async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), "pms-registry-"));
    const registry = new FileModelRegistry(new FileSystemArtifactStore(), root, "pms-recommender");
    const passing = runContext({ runId: "run-1", shortId: "run-1" });
    const failing = runContext({ runId: "run-2", shortId: "run-2" });
    const skipped = runContext({ runId: "run-3", shortId: "run-3", deploy: "skip" });

    // Act
    const first = await registry.registerModelVersion({ run: passing, evaluation: evaluation(true, passing) });
    const second = await registry.registerModelVersion({ run: failing, evaluation: evaluation(false, failing) });
    const third = await registry.registerModelVersion({ run: skipped, evaluation: evaluation(true, skipped) });
    const retried = await registry.registerModelVersion({ run: failing, evaluation: evaluation(false, failing) });

    // Assess
    expect([first, second, third]).toEqual([
      { modelPackageArn: "pms-local:model-package/pms-recommender/1", approvalStatus: "Approved" },
      { modelPackageArn: "pms-local:model-package/pms-recommender/2", approvalStatus: "Rejected" },
      { modelPackageArn: "pms-local:model-package/pms-recommender/3", approvalStatus: "PendingManualApproval" },
    ]);
    expect(retried).toEqual(second);
    const versions = await registry.versions();
    expect(versions).toHaveLength(3);
    expect(versions[1]).toMatchObject({
      modelUri: failing.uris.model,
      metricsUri: failing.uris.metrics,
      reportUri: failing.uris.report,
      metadata: {
        RunId: "run-2",
        GatePassed: "false",
        ApprovalReason: "Rejected: the quality gate failed hr@20 0.05 0.1",
      },
    });
    expect(await readdir(join(root, "registry"))).toEqual(["pms-recommender.json"]);
  });

  it("rejects the version of a run that was stopped before its model was verified, and only that one", async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), "pms-registry-"));
    const registry = new FileModelRegistry(new FileSystemArtifactStore(), root, "pms-recommender");
    const kept = runContext({ runId: "run-1", shortId: "run-1" });
    const stopped = runContext({ runId: "run-2", shortId: "run-2" });
    await registry.registerModelVersion({ run: kept, evaluation: evaluation(true, kept) });
    await registry.registerModelVersion({ run: stopped, evaluation: evaluation(true, stopped) });

    // Act
    const rejected = await registry.rejectRunVersion("run-2", "the run was stopped");
    const none = await registry.rejectRunVersion("run-9", "the run was stopped");

    // Assess
    expect(rejected).toMatchObject({ version: 2, approvalStatus: "Rejected" });
    expect(none).toBeUndefined();
    expect((await registry.versions()).map((version) => [version.metadata.RunId, version.approvalStatus])).toEqual([
      ["run-1", "Approved"],
      ["run-2", "Rejected"],
    ]);
    expect((await registry.versions())[1]?.metadata.RejectedBecause).toBe("the run was stopped");
  });
});
