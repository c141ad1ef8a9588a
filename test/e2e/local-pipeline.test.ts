import { copyFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RAW_EVENTS_TABLE } from "../../core/data/raw-events.ts";
import type { RegisteredVersion } from "../../core/deploy/file-registry.ts";
import { runArtifactUris } from "../../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../../core/warehouse/duckdb.ts";
import { loadDeployConfigFromCdkJson } from "../../lib/config.ts";
import { STATE_NAMES } from "../../lib/pipeline/state-names.ts";
import type { AslDefinition } from "../../local/asl.ts";
import { generateCommand } from "../../local/data-commands.ts";
import { type PmsHome, pmsHomeAt } from "../../local/home.ts";
import { freePort, LocalModelHost, readEndpointState } from "../../local/model-host.ts";
import { QUICK_START_TRAINING } from "../../local/pipeline-command.ts";
import { createRecordingReporter } from "../../local/progress.ts";
import { pipelineDefinition } from "../../local/run-command.ts";
import { listRunRecords, readRunRecord } from "../../local/run-record.ts";
import { serveCommand } from "../../local/serve-command.ts";
import { type LocalTwin, runLocalPipeline } from "../../local/twin.ts";
import { createLocalTwin } from "../../local/wiring.ts";

/**
 * The whole local pipeline, end to end: the synthesized state machine, the real handlers, DuckDB,
 * the dbt project, training in a child process, evaluation, the gate and the local endpoint — on a
 * small generated dataset, with real faults injected at the adapters for the failure paths.
 */

const config = loadDeployConfigFromCdkJson();
const tenant = config.runDefaults.tenant;
const WINDOW = { start: "2024-01-01", end: "2024-01-07" };
// One epoch of the quick start's CPU-sized model on a small sample: the point is the wiring, not the model's quality.
const TRAINING = { ...QUICK_START_TRAINING, epochs: 1, patience: 0 };

let definition: AslDefinition;
let sampleWarehouse: string;
const homes: PmsHome[] = [];

/** A fresh PMS_HOME holding a copy of the sample warehouse, and a twin wired to it. */
async function freshTwin(): Promise<{ home: PmsHome; twin: LocalTwin }> {
  const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-e2e-")));
  homes.push(home);
  await copyFile(sampleWarehouse, home.warehouse);
  const twin = createLocalTwin({
    home,
    config,
    port: await freePort(),
    runDefaults: { minSessions: 20 },
  });
  return { home, twin };
}

async function run(twin: LocalTwin, input: unknown) {
  return runLocalPipeline({ twin, definition, input, reporter: createRecordingReporter(), waitMilliseconds: 50 });
}

async function invoke(port: number, sessions: string[][]) {
  const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sessions, k: 5 }),
  });
  return { status: response.status, body: (await response.json()) as { recommendations: { sku: string }[][] } };
}

beforeAll(async () => {
  // The state machine definition is synthesized once and cached by source hash across test runs.
  definition = await pipelineDefinition(
    pmsHomeAt(join(tmpdir(), "pms-e2e-definition-cache")),
    createRecordingReporter(),
  );
  const sample = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-e2e-sample-")));
  await generateCommand({
    home: sample,
    events: 30_000,
    seed: 7,
    startDate: WINDOW.start,
    days: 7,
    tenant,
    reporter: createRecordingReporter(),
  });
  // DuckDB keeps recent writes in its write-ahead log; fold them into the file so a copy has them.
  const warehouse = new DuckDBWarehouse({ path: sample.warehouse });
  await warehouse.query("checkpoint");
  await warehouse.close();
  sampleWarehouse = sample.warehouse;
});

afterEach(async () => {
  // The local endpoint's processes are detached by design (they outlive `pms run`): stop them.
  for (const home of homes.splice(0)) await new LocalModelHost({ home: home.root }).stop();
});

afterAll(async () => {
  for (const home of homes) await new LocalModelHost({ home: home.root }).stop();
});

describe("the local pipeline", () => {
  it("trains, evaluates, deploys and serves a model; a model the gate rejects is not deployed and the previous one keeps answering", async () => {
    // Prepare
    const { home, twin } = await freshTwin();
    try {
      // Act
      // A one-epoch model on a tiny sample is weak: the gate here only asks it to be better than nothing.
      const first = await run(twin, { window: WINDOW, training: TRAINING, gate: ["hr@20 >= 0.01"] });
      // Assess
      expect(first.error).toBeUndefined();
      expect(first.status).toBe("succeeded");
      expect(first.deployed).toBe(true);
      const uris = runArtifactUris(home.artifactRoot, first.runId);
      expect(first.reportUri).toBe(uris.report);
      expect(await readFile(uris.report, "utf8")).toContain("<svg");
      expect(first.metrics?.["hr@20"]).toBeGreaterThan(0);
      const endpoint = await readEndpointState(home.root);
      expect(endpoint?.status).toBe("InService");
      expect(endpoint?.current?.runId).toBe(first.runId);
      // The served model (the whole window) is deployed; the evaluated one (without the test span) is what was scored.
      expect(endpoint?.current?.modelUri).toBe(uris.model);
      expect(first.stages.map((stage) => stage.state)).toEqual(
        expect.arrayContaining([STATE_NAMES.trainEvaluated, STATE_NAMES.trainServed, STATE_NAMES.checkServedModel]),
      );
      const servedMetrics = JSON.parse(await readFile(uris.trainingMetrics, "utf8"));
      const evaluatedMetrics = JSON.parse(await readFile(uris.evaluatedTrainingMetrics, "utf8"));
      expect(servedMetrics.trainedOnSplits).toEqual(["train", "test"]);
      expect(evaluatedMetrics.trainedOnSplits).toEqual(["train"]);
      expect(servedMetrics.totals.trainingSessions).toBeGreaterThan(evaluatedMetrics.totals.trainingSessions);
      expect(first.endpointUrl).toBe(`http://127.0.0.1:${endpoint?.port}`);
      const port = endpoint?.port ?? 0;
      const answer = await invoke(port, [["no-such-sku"], []]);
      expect(answer.status).toBe(200);
      expect(answer.body.recommendations).toHaveLength(2);
      expect(answer.body.recommendations[0]).toHaveLength(5);
      expect((await listRunRecords(home)).map((record) => record.runId)).toEqual([first.runId]);

      // Act: the same window again, with a gate no model can pass.
      const second = await run(twin, { window: WINDOW, training: TRAINING, gate: ["hr@20 >= 0.99"] });

      // Assess
      expect(second.status).toBe("failed");
      expect(second.error?.name).toBe("QualityGateFailed");
      expect(second.gate?.passed).toBe(false);
      expect(second.deployed).toBe(false);
      expect(second.runId).not.toBe(first.runId);
      const registry = JSON.parse(
        await readFile(join(home.root, "registry", `${config.sagemaker.modelPackageGroupName}.json`), "utf8"),
      ) as RegisteredVersion[];
      expect(registry.map((version) => version.approvalStatus)).toEqual(["Approved", "Rejected"]);
      expect(registry[0]).toMatchObject({ modelUri: uris.model, evaluatedModelUri: uris.evaluatedModel });
      expect(registry[0]?.metadata.ServedModelTrainedOn).toMatch(/^train\+test 2024-01-01\/2024-01-07 \d+ sessions$/);
      expect(registry[0]?.metadata.EvaluatedModelTrainedOn).toMatch(/^train 2024-01-01\/2024-01-0[67] \d+ sessions$/);
      expect((await readEndpointState(home.root))?.current?.runId).toBe(first.runId);
      expect((await invoke(port, [["no-such-sku"]])).status).toBe(200);
      // The first run's artifacts are untouched by the second.
      expect(await readFile(uris.report, "utf8")).toContain("<svg");

      // `pms serve` without a run serves the latest successful run's model (already serving: kept as is),
      // and refuses the rejected run, naming the model it kept back and how to serve it anyway.
      const endpointName = config.sagemaker.endpointName;
      expect((await serveCommand({ home, endpointName })).current?.runId).toBe(first.runId);
      await expect(serveCommand({ home, endpointName, runId: second.runId })).rejects.toThrow(
        new RegExp(
          `quality gate rejected run ${second.runId}'s model .*Serve it anyway with: pms serve --model \\S+/served-model/model\\.tar\\.gz`,
        ),
      );
    } finally {
      await twin.close();
    }
  }, 300_000);

  it("fails in the dbt run when a dbt test fails on the raw data, before anything is trained", async () => {
    // Prepare: an event whose product_action is not one of the accepted values.
    const { home, twin } = await freshTwin();
    const warehouse = new DuckDBWarehouse({ path: home.warehouse });
    await warehouse.query(
      `insert into ${RAW_EVENTS_TABLE} values ('bad-1', now(), ?, 'event_product', date '2024-01-03', ?::json)`,
      {
        binds: [
          tenant,
          JSON.stringify({
            session_id: "s-bad",
            product_sku: "sku-1",
            product_action: "teleport",
            server_timestamp_epoch_ms: Date.parse("2024-01-03T10:00:00Z"),
            hashed_url: "u",
            event_type: "event_product",
          }),
        ],
      },
    );
    await warehouse.close();
    try {
      // Act
      const record = await run(twin, { window: WINDOW, training: TRAINING });
      // Assess
      expect(record.status).toBe("failed");
      expect(record.error?.name).toBe("DbtRunFailed");
      expect(record.error?.cause).toContain("accepted_values");
      expect(record.stages.map((stage) => stage.state)).not.toContain(STATE_NAMES.train);
      expect(await readdir(join(home.runs, record.runId))).toEqual(["run.json"]);
    } finally {
      await twin.close();
    }
  });

  it("fails with InsufficientData for a window without events", async () => {
    const { twin } = await freshTwin();
    try {
      const record = await run(twin, { window: { start: "2010-01-01", end: "2010-01-07" } });
      expect(record.status).toBe("failed");
      expect(record.error?.name).toBe("InsufficientData");
      expect(record.error?.state).toBe("Check the extract");
    } finally {
      await twin.close();
    }
  });

  it("stops cleanly when aborted during training: the training process ends and the run is marked aborted", async () => {
    // Prepare: Ctrl-C (the signal `pms run` aborts on SIGINT) a moment after training started.
    const { home, twin } = await freshTwin();
    const controller = new AbortController();
    const interrupted: LocalTwin = {
      ...twin,
      async train(job, context) {
        setTimeout(() => controller.abort(), 1_000);
        return twin.train(job, context);
      },
    };
    try {
      // Act
      const record = await runLocalPipeline({
        twin: interrupted,
        definition,
        input: { window: WINDOW, training: TRAINING },
        reporter: createRecordingReporter(),
        signal: controller.signal,
        waitMilliseconds: 50,
      });
      // Assess
      expect(record.status).toBe("aborted");
      expect((await readRunRecord(home, record.runId))?.status).toBe("aborted");
      expect(record.logPath && (await readFile(record.logPath, "utf8"))).toContain(
        "training: The training process stopped: the run was aborted",
      );
      expect(await twin.store.exists(runArtifactUris(home.artifactRoot, record.runId).model)).toBe(false);
      expect(await readEndpointState(home.root)).toBeNull();
    } finally {
      await twin.close();
    }
  }, 120_000);

  it("fails TrainingFailed naming the served model when the refit's process crashes, and deploys nothing", async () => {
    // Prepare: the real training processes; the test split, which only the refit reads, corrupted after the extract.
    const { home, twin } = await freshTwin();
    const crashing: LocalTwin = {
      ...twin,
      async train(job, context) {
        if (job.model === "served") {
          const testPrefix = job.command[job.command.indexOf("--test-data") + 1] ?? "";
          for (const file of await twin.store.list(testPrefix)) await writeFile(file, "not parquet");
        }
        return twin.train(job, context);
      },
    };
    try {
      // Act
      const record = await run(crashing, { window: WINDOW, training: TRAINING });
      // Assess
      expect(record.status).toBe("failed");
      expect(record.error?.name).toBe("TrainingFailed");
      expect(record.error?.state).toBe(STATE_NAMES.trainServed);
      expect(record.error?.cause).toMatch(/^Training the served model \(trained on the whole window\) failed: /);
      expect(record.error?.cause).toContain("The training process exited with code");
      expect(record.deployed).toBe(false);
      expect(await readEndpointState(home.root)).toBeNull();
      const log = record.logPath ? await readFile(record.logPath, "utf8") : "";
      expect(log).toContain(`failed: ${STATE_NAMES.trainServed}`);
      expect(log).toMatch(/\[served\] .*Parquet|\[served\] .*parquet/i);
    } finally {
      await twin.close();
    }
  }, 120_000);

  it("fails ServedModelRejected when the refit's GRU is broken: nothing registered or deployed", async () => {
    // Prepare: the refit's learning rate cut to almost nothing, so its GRU stays at its random start.
    const { home, twin } = await freshTwin();
    const brokenRefit: LocalTwin = {
      ...twin,
      async train(job, context) {
        if (job.model !== "served") return twin.train(job, context);
        const at = job.command.indexOf("--hyperparameters") + 1;
        const hyperparameters = { ...JSON.parse(job.command[at] ?? "{}"), learningRate: 1e-9 };
        const command = job.command.map((part, index) => (index === at ? JSON.stringify(hyperparameters) : part));
        return twin.train({ ...job, command }, context);
      },
    };
    try {
      // Act: two epochs, so the evaluated GRU has learned something to be compared with.
      const record = await run(brokenRefit, {
        window: WINDOW,
        training: { ...TRAINING, epochs: 2 },
        gate: ["hr@20 >= 0.01"],
      });
      // Assess
      expect(record.status).toBe("failed");
      expect(record.error?.name).toBe("ServedModelRejected");
      expect(record.error?.state).toBe(STATE_NAMES.checkServedModel);
      expect(record.error?.cause).toMatch(/below the evaluated model's .*nothing was registered or deployed/);
      expect(record.deployed).toBe(false);
      expect(await readEndpointState(home.root)).toBeNull();
      const registryPath = join(home.root, "registry", `${config.sagemaker.modelPackageGroupName}.json`);
      await expect(readFile(registryPath, "utf8")).rejects.toThrow(/ENOENT/);
    } finally {
      await twin.close();
    }
  }, 180_000);
});
