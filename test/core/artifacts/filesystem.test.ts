import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { ArtifactNotFoundError } from "../../../core/ports/artifact-store.ts";

describe("FileSystemArtifactStore", () => {
  it("round-trips an object and lists it under its prefix, leaving no temporary file", async () => {
    const root = await mkdtemp(join(tmpdir(), "pms-store-"));
    const store = new FileSystemArtifactStore();
    await store.put(`${root}/runs/r1/report/metrics.json`, '{"hr":1}');
    await store.put(`${root}/runs/r2/report/metrics.json`, "{}");
    expect(await store.getText(`${root}/runs/r1/report/metrics.json`)).toBe('{"hr":1}');
    expect(await store.list(`${root}/runs/r1/`)).toEqual([`${root}/runs/r1/report/metrics.json`]);
    expect(await store.list(`file://${root}/runs/r`)).toHaveLength(2);
    expect(await readdir(`${root}/runs/r1/report`)).toEqual(["metrics.json"]);
  });

  it("raises ArtifactNotFound for a missing object", async () => {
    const store = new FileSystemArtifactStore();
    await expect(store.get("/nonexistent/pms/x.json")).rejects.toBeInstanceOf(ArtifactNotFoundError);
    expect(await store.exists("/nonexistent/pms/x.json")).toBe(false);
  });
});
