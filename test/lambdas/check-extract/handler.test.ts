import { describe, expect, it } from "vitest";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import type { QueryStatus, Warehouse } from "../../../core/ports/warehouse.ts";
import { createCheckExtractHandler } from "../../../lambdas/check-extract/handler.ts";
import { MemoryArtifactStore } from "../../core/data/memory-store.ts";

/** A warehouse whose unload is in a given state; any query is a test failure. */
function warehouseIn(status: QueryStatus): Warehouse & { polled: string[] } {
  const polled: string[] = [];
  return {
    dialect: "snowflake",
    polled,
    query: async () => {
      throw new Error("no query expected while the unload is not finished");
    },
    start: async () => "unused",
    status: async (queryId) => {
      polled.push(queryId);
      return status;
    },
    results: async () => [],
    close: async () => {},
  };
}

const RUN = {
  runId: "r-1",
  executionName: "nightly-1",
  window: { start: "2024-01-01", end: "2024-01-07" },
  tenant: "shop",
  holdoutDays: 1,
  minSessions: 10,
  uris: runArtifactUris("s3://bucket", "r-1"),
};

describe("check-extract handler", () => {
  it("returns running while the unload runs, without reading or writing anything", async () => {
    // Prepare
    const warehouse = warehouseIn({ state: "running" });
    const store = new MemoryArtifactStore();
    const checkExtract = createCheckExtractHandler({ warehouse, store, stage: "S" });

    // Act
    const state = await checkExtract({
      run: RUN,
      extract: { queryId: "01b2", status: "running", finished: false, manifestUri: RUN.uris.data.manifest },
    });

    // Assess
    expect(state).toEqual({ queryId: "01b2", status: "running", finished: false, manifestUri: RUN.uris.data.manifest });
    expect(warehouse.polled).toEqual(["01b2"]);
    expect(store.objects.size).toBe(0);
  });

  it("throws ExtractFailed with the warehouse's message for a failed unload", async () => {
    // Prepare
    const checkExtract = createCheckExtractHandler({
      warehouse: warehouseIn({ state: "failed", message: "Insufficient privileges to operate on stage" }),
      store: new MemoryArtifactStore(),
    });

    // Act
    const error = await checkExtract({ run: RUN, extract: { queryId: "01b2" } }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe("ExtractFailed");
    expect((error as Error).message).toBe(
      "The unload of run r-1 failed in the warehouse: Insufficient privileges to operate on stage",
    );
  });
});
