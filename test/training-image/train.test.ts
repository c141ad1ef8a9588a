import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../core/artifacts/filesystem.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { loadModelRecommender } from "../../core/model/load.ts";
import type { TrainingMetrics } from "../../core/model/training-metrics.ts";
import { runTraining } from "../../training-image/src/train.ts";
import { chainSessions, SMALL_PARAMETERS } from "../core/model/fixture.ts";

let root: string;
const store = new FileSystemArtifactStore();

async function writeSplit(prefix: string, sessions: readonly string[][]): Promise<void> {
  const rows = sessions
    .map(
      (items, index) =>
        `('s${index}', 'tenant-a', ${1_396_310_400_000 + index}::BIGINT, DATE '2014-04-01', [${items.map((item) => `'${item}'`).join(", ")}], ${items.length})`,
    )
    .join(",\n");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT * FROM (VALUES ${rows}) AS s(session_id, tenant, session_start_ms, session_date, items, length)) TO '${prefix}part-0.parquet' (FORMAT PARQUET, COMPRESSION ZSTD)`,
  );
  connection.closeSync();
}

const hyperparameters = JSON.stringify({ ...SMALL_PARAMETERS, epochs: 2 });

function optionsFor(run: string) {
  return {
    runId: run,
    trainData: `${root}/data/train/`,
    validationData: `${root}/data/validation/`,
    manifest: `${root}/data/manifest.json`,
    modelOutput: `${root}/${run}/model/model.tar.gz`,
    metricsOutput: `${root}/${run}/model/training-metrics.json`,
    hyperparameters,
  };
}

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  root = await mkdtemp(join(tmpdir(), "pms-train-test-"));
  await store.put(`${root}/data/train/.keep`, "");
  await writeSplit(`${root}/data/train/`, chainSessions(200, 50, 1));
  await store.put(`${root}/data/validation/.keep`, "");
  await writeSplit(`${root}/data/validation/`, chainSessions(40, 50, 2));
  // The test span brings items the earlier days never had: only a model that learned from it knows them.
  await store.put(`${root}/data/test/.keep`, "");
  await writeSplit(
    `${root}/data/test/`,
    Array.from({ length: 30 }, (_, index) => ["sku-new-1", "sku-new-2", `sku-${index % 50}`]),
  );
  await store.put(`${root}/data/manifest.json`, JSON.stringify({ contentHash: "sha256-of-the-splits" }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("train", () => {
  it("reads the Parquet splits and writes model.tar.gz and training-metrics.json", async () => {
    const lines: string[] = [];
    const options = optionsFor("run-ok");
    await runTraining(options, { store, log: (line) => lines.push(line) });

    const metrics = JSON.parse(await store.getText(options.metricsOutput)) as TrainingMetrics;
    expect(metrics.runId).toBe("run-ok");
    expect(metrics.backend).toBe("wasm");
    expect(metrics.epochs).toHaveLength(2);
    expect(metrics.totals.trainingSessions).toBe(200);
    expect(metrics.totals.validationSessions).toBe(40);
    expect(metrics.dataManifestHash).toBe("sha256-of-the-splits");
    expect(metrics.hyperparameters).toEqual({ ...SMALL_PARAMETERS, epochs: 2 });
    expect(lines.some((line) => /^epoch 2\/2 done loss [\d.]+ hr@20 [\d.]+/.test(line))).toBe(true);

    const model = await loadModelRecommender(store, options.modelOutput);
    expect(model.metadata).toMatchObject({
      runId: "run-ok",
      dataManifestHash: "sha256-of-the-splits",
      trainedOn: "wasm",
      validation: metrics.validation,
    });
    const [list] = await model.recommend([["sku-1", "sku-10"]], 5);
    expect(list).toHaveLength(5);
    model.dispose();
  });

  it("trains the served model on the test split too: its sessions and its new items", async () => {
    const evaluatedOptions = optionsFor("run-evaluated");
    const servedOptions = { ...optionsFor("run-served"), testData: `${root}/data/test/` };
    const lines: string[] = [];
    await runTraining(evaluatedOptions, { store, log: () => {} });
    await runTraining(servedOptions, { store, log: (line) => lines.push(line) });

    const evaluatedMetrics = JSON.parse(await store.getText(evaluatedOptions.metricsOutput)) as TrainingMetrics;
    const servedMetrics = JSON.parse(await store.getText(servedOptions.metricsOutput)) as TrainingMetrics;
    expect(evaluatedMetrics.trainedOnSplits).toEqual(["train"]);
    expect(servedMetrics.trainedOnSplits).toEqual(["train", "test"]);
    expect(servedMetrics.totals.trainingSessions).toBe(230);
    expect(servedMetrics.totals.validationSessions).toBe(40);
    expect(servedMetrics.totals.vocabularySize).toBe(evaluatedMetrics.totals.vocabularySize + 2);
    expect(lines.some((line) => line.includes("230 training sessions (200 train + 30 test: the served model)"))).toBe(
      true,
    );
    const evaluated = await loadModelRecommender(store, evaluatedOptions.modelOutput);
    const served = await loadModelRecommender(store, servedOptions.modelOutput);
    const session = [["sku-new-1"]];
    expect((await evaluated.recommendWithFallback(session, 5)).fallback).toEqual([true]);
    const fromServed = await served.recommendWithFallback(session, 5);
    expect(fromServed.fallback).toEqual([false]);
    expect(fromServed.recommendations[0]?.map((item) => item.sku)).toContain("sku-new-2");
    evaluated.dispose();
    served.dispose();
  });

  it("writes nothing when training fails", async () => {
    const options = {
      ...optionsFor("run-bad"),
      hyperparameters: JSON.stringify({ ...SMALL_PARAMETERS, epochs: 1, minItemCount: 1000 }),
    };
    await expect(runTraining(options, { store, log: () => {} })).rejects.toThrow(/minItemCount=1000/);
    await expect(readdir(`${root}/run-bad`)).rejects.toThrow(/ENOENT/);
  });

  it("rejects bad hyper-parameters naming the field, before reading any data", async () => {
    const options = { ...optionsFor("run-hp"), hyperparameters: JSON.stringify({ learningRate: 5, epochs: "ten" }) };
    const failure = runTraining(options, { store, log: () => {} });
    await expect(failure).rejects.toThrow(/learningRate/);
    await expect(runTraining(options, { store, log: () => {} })).rejects.toThrow(/epochs/);
    await expect(
      runTraining({ ...optionsFor("run-json"), hyperparameters: "{epochs:" }, { store, log: () => {} }),
    ).rejects.toThrow(/not valid JSON/);
  });

  it("names a missing split", async () => {
    await expect(
      runTraining({ ...optionsFor("run-missing"), trainData: `${root}/nowhere/` }, { store, log: () => {} }),
    ).rejects.toThrow(/No Parquet files under .*nowhere/);
  });
});
