import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RoutingArtifactStore } from "../core/artifacts/index.ts";
import { FileModelRegistry } from "../core/deploy/file-registry.ts";
import { loadModelForScoring } from "../core/model/parallel-model.ts";
import type { RunDefaults } from "../core/pipeline/run-context.ts";
import { DuckDBWarehouse } from "../core/warehouse/duckdb.ts";
import { createCancelDbtRunHandler } from "../lambdas/cancel-dbt-run/handler.ts";
import { createCheckDbtRunHandler } from "../lambdas/check-dbt-run/handler.ts";
import { createCheckDeploymentHandler } from "../lambdas/check-deployment/handler.ts";
import { createCheckExtractHandler } from "../lambdas/check-extract/handler.ts";
import { createCheckServedModelHandler, loadGruAlone } from "../lambdas/check-served-model/handler.ts";
import { createCleanUpDeploymentsHandler } from "../lambdas/clean-up-deployments/handler.ts";
import { createEvaluateHandler } from "../lambdas/evaluate/handler.ts";
import { createPrepareRunHandler } from "../lambdas/prepare-run/handler.ts";
import { createRegisterModelHandler } from "../lambdas/register-model/handler.ts";
import { createRollBackDeploymentHandler } from "../lambdas/roll-back-deployment/handler.ts";
import { createSmokeTestHandler } from "../lambdas/smoke-test/handler.ts";
import { createStartDbtRunHandler } from "../lambdas/start-dbt-run/handler.ts";
import { createStartDeploymentHandler } from "../lambdas/start-deployment/handler.ts";
import { createStartExtractHandler } from "../lambdas/start-extract/handler.ts";
import { type DeployConfig, loadDeployConfigFromCdkJson, runDefaultsFrom } from "../lib/config.ts";
import { describeDbtResults, type NodeResult } from "./dbt/runner.ts";
import { LocalDbtTransformer } from "./dbt/transformer.ts";
import { exampleSession } from "./example-session.ts";
import { DEFAULT_ENDPOINT_PORT, type PmsHome } from "./home.ts";
import { LocalEndpointChampionSource } from "./local-champion.ts";
import { LocalModelHost } from "./model-host.ts";
import type { ProgressReporter } from "./progress.ts";
import type { LocalHandlers } from "./task-overrides.ts";
import { parseEpochLine, runTrainingProcess, trainingPosition } from "./training-process.ts";
import type { LocalTwin } from "./twin.ts";

const DBT_PROJECT_DIR = fileURLToPath(new URL("../dbt-project", import.meta.url));

export interface LocalTwinOptions {
  readonly home: PmsHome;
  /** @default the deploy configuration in cdk.json — the one `cdk deploy` uses */
  readonly config?: DeployConfig;
  /** Changes to the configured run defaults (tests use a small `minSessions`). */
  readonly runDefaults?: Partial<Omit<RunDefaults, "artifactRoot">>;
  /**
   * The local endpoint's public port (used by the first deployment; later ones keep it).
   * @default DEFAULT_ENDPOINT_PORT
   */
  readonly port?: number;
  /** Where dbt's log lines go (the progress output). */
  readonly reporter?: ProgressReporter;
}

/**
 * The local twin's adapters, chosen once here — the local counterpart of the Lambdas' `index.ts`
 * files: DuckDB for Snowflake, the local dbt runner for dbt Cloud, a folder for S3, a child process
 * for the Batch job, the local ModelHost for SageMaker. The handlers are the cloud's own factories.
 */
export function createLocalTwin(options: LocalTwinOptions): LocalTwin {
  const { home } = options;
  const config = options.config ?? loadDeployConfigFromCdkJson();
  // artifactRoot = $PMS_HOME: runs land in $PMS_HOME/runs/<runId>/, as `runArtifactUris` lays them out.
  const defaults: RunDefaults = { ...runDefaultsFrom(config, home.artifactRoot), ...options.runDefaults };
  let runLog: (line: string) => void = () => undefined;
  let dbtResults: readonly NodeResult[] | undefined;
  const store = new RoutingArtifactStore();
  const warehouse = new DuckDBWarehouse({ path: home.warehouse });
  const transformer = new LocalDbtTransformer({
    projectDir: DBT_PROJECT_DIR,
    warehouse,
    // dbt's target/ for this PMS_HOME: the latest run's run_results.json and manifest.json.
    targetDir: join(home.root, "dbt", "target"),
    // The full dbt log goes to the run's log; the terminal gets the verdict and anything that failed.
    log: (line) => {
      runLog(line);
      if (/^\d+ of \d+ (FAIL|ERROR|WARN)\b/.test(line)) options.reporter?.line(`    dbt: ${line}`);
    },
    onFinished: (report) => {
      dbtResults = report.results;
      options.reporter?.line(`    dbt: ${describeDbtResults(report.results)} (${report.seconds.toFixed(1)} s)`);
    },
  });
  const dbtTimeoutSeconds = config.dbtCloud.timeoutMinutes * 60;
  const host = new LocalModelHost({
    home: home.root,
    endpointName: config.sagemaker.endpointName,
    port: options.port ?? DEFAULT_ENDPOINT_PORT,
  });
  const championSource = new LocalEndpointChampionSource(home.root, store);
  const registry = new FileModelRegistry(store, home.artifactRoot, config.sagemaker.modelPackageGroupName);
  const endpointName = config.sagemaker.endpointName;

  const handlers: LocalHandlers = {
    prepareRun: createPrepareRunHandler({ defaults }),
    startDbtRun: createStartDbtRunHandler({ transformer, timeoutSeconds: dbtTimeoutSeconds }),
    checkDbtRun: createCheckDbtRunHandler({ transformer }),
    cancelDbtRun: createCancelDbtRunHandler({ transformer }),
    startExtract: createStartExtractHandler({ warehouse, store }),
    checkExtract: createCheckExtractHandler({ warehouse, store }),
    evaluate: createEvaluateHandler({
      store,
      championSource,
      loadModel: loadModelForScoring,
      log: (message, fields) => {
        const details = Object.entries(fields ?? {})
          .filter(([key]) => key !== "reportUri")
          .map(([key, value]) => `${key} ${typeof value === "number" ? Math.round(value * 100) / 100 : String(value)}`)
          .join(", ");
        options.reporter?.line(`    ${message}${details ? ` (${details})` : ""}`);
      },
    }),
    checkServedModel: createCheckServedModelHandler({
      store,
      loadModel: loadGruAlone,
      log: (message, fields) =>
        options.reporter?.line(
          `    ${message} (validation HR@20 of the GRU: evaluated ${Number(fields?.evaluatedHr20).toFixed(4)}, served ${Number(fields?.servedHr20).toFixed(4)})`,
        ),
    }),
    // The registry is a JSON file per model package group under $PMS_HOME/registry/, same approval rules as SageMaker's.
    registerModel: createRegisterModelHandler({ registry }),
    startDeployment: createStartDeploymentHandler({
      host,
      endpointName: config.sagemaker.endpointName,
      timeoutSeconds: config.sagemaker.deployTimeoutMinutes * 60,
    }),
    checkDeployment: createCheckDeploymentHandler({ host }),
    smokeTest: createSmokeTestHandler({ host, store }),
    rollBackDeployment: createRollBackDeploymentHandler({ host }),
    cleanUpDeployments: createCleanUpDeploymentsHandler({ cleaner: host, keep: config.sagemaker.keepDeployments }),
  };

  return {
    home,
    store,
    handlers,
    logTo(write) {
      runLog = write;
    },
    async train(job, context) {
      // Both models train at once; the evaluated one drives the progress bar, the served one reports
      // its data and its end, and each line of the log says which model it is from.
      const evaluated = job.model === "evaluated";
      await runTrainingProcess({
        command: job.command,
        logPath: context.logPath,
        logPrefix: `[${job.model}] `,
        signal: context.signal,
        onProgress: (progress) => {
          if (!evaluated) return;
          if (progress.epochDone)
            context.reporter.line(`    epoch ${progress.epoch}/${progress.epochs}: ${progress.detail}`);
          else
            context.reporter.progress(
              `epoch ${progress.epoch}/${progress.epochs}`,
              trainingPosition(progress),
              progress.epochs,
              progress.detail,
            );
        },
        onLine: (line) => {
          // The trainer's own status lines (backend, data sizes) are worth seeing; batch lines drive the bar.
          if (!parseEpochLine(line) && /^(TF\.js backend|data:|trained:)/i.test(line))
            context.reporter.line(`    ${job.model} model: ${line}`);
        },
      });
    },
    dbtResults: () => dbtResults,
    async endpointUrl() {
      const endpoint = await host.read();
      return endpoint?.status === "InService" && endpoint.current ? `http://127.0.0.1:${endpoint.port}` : undefined;
    },
    async servingRunId() {
      const endpoint = await host.read();
      return endpoint?.status === "InService" ? endpoint.current?.runId : undefined;
    },
    async undoAbortedRun(runId) {
      const done: string[] = [];
      const endpoint = await host.read();
      if (endpoint?.current?.runId === runId) {
        // The run stopped before its model was verified: what served before it serves again.
        const previous = endpoint.previous;
        if (previous) {
          await host.rollBack(endpointName, previous.endpointConfigName);
          done.push(`    endpoint: rolled back to run ${previous.runId}'s model (this run's model was never verified)`);
        } else {
          await host.deleteEndpoint(endpointName);
          done.push("    endpoint: stopped (it served only this run's unverified model)");
        }
      }
      const rejected = await registry.rejectRunVersion(runId, "the run was stopped before its model was verified");
      if (rejected) done.push(`    registry: version ${rejected.version} is Rejected (the run was stopped)`);
      return done;
    },
    async exampleSession(record) {
      return record.status === "succeeded" ? exampleSession(home, record.runId, store) : undefined;
    },
    async close() {
      await warehouse.close();
    },
  };
}
