import { existsSync } from "node:fs";
import { Duration } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { type DeployConfig, runDefaultsFrom } from "../config.ts";
import type { PipelineFunctions } from "../pipeline/pipeline-functions.ts";
import { projectPath } from "../project-paths.ts";
import type { ArtifactBucket } from "./artifact-bucket.ts";
import type { ModelServing } from "./model-serving.ts";
import { PipelineFunction } from "./pipeline-function.ts";

/** Every Lambda's entry, in one table, so a missing handler is one glance away. */
export const FUNCTION_ENTRIES = {
  prepareRun: "lambdas/prepare-run/index.ts",
  startDbtRun: "lambdas/start-dbt-run/index.ts",
  checkDbtRun: "lambdas/check-dbt-run/index.ts",
  cancelDbtRun: "lambdas/cancel-dbt-run/index.ts",
  startExtract: "lambdas/start-extract/index.ts",
  checkExtract: "lambdas/check-extract/index.ts",
  evaluate: "lambdas/evaluate/index.ts",
  checkServedModel: "lambdas/check-served-model/index.ts",
  registerModel: "lambdas/register-model/index.ts",
  startDeployment: "lambdas/start-deployment/index.ts",
  checkDeployment: "lambdas/check-deployment/index.ts",
  smokeTest: "lambdas/smoke-test/index.ts",
  rollBackDeployment: "lambdas/roll-back-deployment/index.ts",
  cleanUpDeployments: "lambdas/clean-up-deployments/index.ts",
  notify: "lambdas/notify/index.ts",
} as const satisfies Record<keyof PipelineFunctions | "notify", string>;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The entries that do not exist yet (relative paths), for a synth error that lists them all at once. */
export function missingFunctionEntries(entries: Readonly<Record<FunctionName, string>> = FUNCTION_ENTRIES): string[] {
  return Object.values(entries).filter((entry) => !existsSync(projectPath(entry)));
}

export class MissingHandlersError extends Error {
  override readonly name = "MissingHandlers";
  constructor(readonly entries: readonly string[]) {
    super(`These handler entries do not exist yet, so their Lambdas cannot be bundled:\n  ${entries.join("\n  ")}`);
  }
}

/** The TF.js wasm binaries, loaded at run time from next to the bundle by the wasm backend. */
const TFJS_WASM_BINARIES = [
  "node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
  "node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
  "node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
];

export interface PipelineLambdasProps {
  readonly config: DeployConfig;
  readonly artifacts: ArtifactBucket;
  readonly serving: ModelServing;
  readonly logRetention: logs.RetentionDays;
  /**
   * Entry files by function, relative to the project root.
   * @default FUNCTION_ENTRIES
   */
  readonly entries?: Readonly<Record<FunctionName, string>>;
}

/**
 * The state machine's Lambdas: each with exactly the environment its handler reads (see the
 * table in docs/infra.md), the one secret it needs, and the bucket and SageMaker access of its
 * stage — nothing else.
 */
export class PipelineLambdas extends Construct {
  readonly functions: PipelineFunctions;

  constructor(scope: Construct, id: string, props: PipelineLambdasProps) {
    super(scope, id);
    const { config, artifacts, serving, logRetention } = props;
    const entries = props.entries ?? FUNCTION_ENTRIES;
    // Every missing handler at once (notify's too, though PipelineNotifications creates it).
    const missing = missingFunctionEntries(entries);
    if (missing.length > 0) throw new MissingHandlersError(missing);

    const prefix = config.namePrefix;
    const make = (
      name: keyof PipelineFunctions,
      functionSuffix: string,
      description: string,
      environment: Record<string, string>,
      options: { memorySize?: number; timeout?: Duration; copyToBundle?: readonly string[] } = {},
    ) =>
      new PipelineFunction(this, name[0]?.toUpperCase() + name.slice(1), {
        entry: entries[name],
        functionName: `${prefix}-${functionSuffix}`,
        description,
        environment,
        logRetention,
        ...options,
      });

    const dbtToken = secretsmanager.Secret.fromSecretNameV2(this, "DbtCloudToken", config.dbtCloud.tokenSecretName);
    const snowflakeKey = secretsmanager.Secret.fromSecretNameV2(
      this,
      "SnowflakePrivateKey",
      config.snowflake.privateKeySecretName,
    );
    const dbtEnvironment = {
      DBT_CLOUD_API_BASE_URL: config.dbtCloud.apiBaseUrl,
      DBT_CLOUD_ACCOUNT_ID: String(config.dbtCloud.accountId),
      DBT_CLOUD_JOB_ID: String(config.dbtCloud.jobId),
      DBT_CLOUD_TOKEN_SECRET_ID: config.dbtCloud.tokenSecretName,
      DBT_RUN_TIMEOUT_SECONDS: String(config.dbtCloud.timeoutMinutes * 60),
      ...(config.dbtCloud.steps ? { DBT_CLOUD_JOB_STEPS: JSON.stringify(config.dbtCloud.steps) } : {}),
    };
    const snowflakeEnvironment = {
      SNOWFLAKE_ACCOUNT: config.snowflake.account,
      SNOWFLAKE_USER: config.snowflake.user,
      SNOWFLAKE_ROLE: config.snowflake.role,
      SNOWFLAKE_WAREHOUSE: config.snowflake.warehouse,
      SNOWFLAKE_DATABASE: config.snowflake.database,
      SNOWFLAKE_SCHEMA: config.snowflake.schema,
      SNOWFLAKE_PRIVATE_KEY_SECRET_ID: config.snowflake.privateKeySecretName,
      SNOWFLAKE_UNLOAD_STAGE: config.snowflake.unloadStage,
      SNOWFLAKE_EXTRACT_TIMEOUT_SECONDS: String(config.snowflake.extractTimeoutMinutes * 60),
    };
    const endpoint = { PMS_ENDPOINT_NAME: serving.endpointName };

    const prepareRun = make("prepareRun", "prepare-run", "Validates the execution input and resolves the run", {
      PMS_RUN_DEFAULTS: JSON.stringify(runDefaultsFrom(config, artifacts.artifactRoot)),
    });

    const startDbtRun = make("startDbtRun", "start-dbt-run", "Triggers the dbt Cloud job", dbtEnvironment);
    const checkDbtRun = make("checkDbtRun", "check-dbt-run", "Reads the dbt Cloud run's status", dbtEnvironment);
    const cancelDbtRun = make(
      "cancelDbtRun",
      "cancel-dbt-run",
      "Cancels a dbt Cloud run that ran too long",
      dbtEnvironment,
    );
    for (const fn of [startDbtRun, checkDbtRun, cancelDbtRun]) dbtToken.grantRead(fn);

    // Snowflake's key-pair login and result fetching take a few seconds; the unload itself runs async.
    const snowflakeOptions = { memorySize: 512, timeout: Duration.minutes(2) };
    const startExtract = make(
      "startExtract",
      "start-extract",
      "Starts the Snowflake unload of the run's sessions to S3",
      snowflakeEnvironment,
      snowflakeOptions,
    );
    const checkExtract = make(
      "checkExtract",
      "check-extract",
      "Checks the unload and writes the data manifest",
      snowflakeEnvironment,
      snowflakeOptions,
    );
    for (const fn of [startExtract, checkExtract]) {
      snowflakeKey.grantRead(fn);
      artifacts.grantReadWriteRuns(fn);
    }

    const registry = { PMS_MODEL_PACKAGE_GROUP: serving.modelPackageGroupName };
    // Evaluation scores the model and the baselines on the whole test split, single-threaded wasm.
    const evaluate = make(
      "evaluate",
      "evaluate",
      "Runs the behavioural test suite, the baselines and the gate",
      { ...registry, ...endpoint },
      { memorySize: 4096, timeout: Duration.minutes(15), copyToBundle: TFJS_WASM_BINARIES },
    );
    artifacts.grantReadWriteRuns(evaluate);
    serving.grantReadRegistry(evaluate);

    // Loads the two models one after the other and scores their GRUs on the validation sample.
    const checkServedModel = make(
      "checkServedModel",
      "check-served-model",
      "Compares the served model with the evaluated one on the validation sample",
      {},
      { memorySize: 4096, timeout: Duration.minutes(15), copyToBundle: TFJS_WASM_BINARIES },
    );
    artifacts.grantReadRuns(checkServedModel);

    const registerModel = make(
      "registerModel",
      "register-model",
      "Registers the model version with its metrics and approval",
      {
        ...registry,
        PMS_SERVING_IMAGE_URI: serving.servingImageUri,
        PMS_RESOURCE_TAGS: JSON.stringify(config.costTags),
      },
    );
    // The package's ModelDataUrl and metrics point into the run: registering reads them with the caller's rights.
    artifacts.grantReadRuns(registerModel);
    serving.grantRegister(registerModel);

    const startDeployment = make(
      "startDeployment",
      "start-deployment",
      "Creates the model and endpoint config, then creates or updates the endpoint (blue/green)",
      {
        ...endpoint,
        PMS_SERVING_IMAGE_URI: serving.servingImageUri,
        PMS_SAGEMAKER_ROLE_ARN: serving.executionRole.roleArn,
        PMS_ENDPOINT_SETTINGS: JSON.stringify(config.sagemaker.endpoint),
        PMS_ROLLBACK_ALARM_NAMES: JSON.stringify(serving.rollbackAlarmNames),
        PMS_DEPLOY_TIMEOUT_SECONDS: String(config.sagemaker.deployTimeoutMinutes * 60),
        PMS_RESOURCE_TAGS: JSON.stringify(config.costTags),
      },
    );
    serving.grantDeploy(startDeployment);

    const checkDeployment = make(
      "checkDeployment",
      "check-deployment",
      "Reads the endpoint's status during an update",
      // The timeout restarts the update's deadline when the execution is redriven.
      { ...endpoint, PMS_DEPLOY_TIMEOUT_SECONDS: String(config.sagemaker.deployTimeoutMinutes * 60) },
    );
    serving.grantDescribe(checkDeployment);

    const smokeTest = make(
      "smokeTest",
      "smoke-test",
      "Invokes the endpoint with sessions from the run's test split",
      { ...endpoint, PMS_SMOKE_TEST_MAX_MS: String(config.sagemaker.smokeTestMaxLatencyMs) },
      { memorySize: 512, timeout: Duration.minutes(3) },
    );
    artifacts.grantReadRuns(smokeTest);
    serving.grantInvoke(smokeTest);

    const rollBackDeployment = make(
      "rollBackDeployment",
      "roll-back-deployment",
      "Points the endpoint back at its previous config",
      endpoint,
    );
    serving.grantRollBack(rollBackDeployment);

    const cleanUpDeployments = make(
      "cleanUpDeployments",
      "clean-up-deployments",
      "Deletes models and endpoint configs older than the last deployments",
      { ...endpoint, PMS_KEEP_DEPLOYMENTS: String(config.sagemaker.keepDeployments) },
    );
    serving.grantCleanUp(cleanUpDeployments);

    for (const fn of [evaluate, checkServedModel, registerModel, smokeTest, checkExtract, startExtract]) {
      artifacts.acknowledgeRunPrefixGrants(fn.role as iam.Role, `${fn.node.id} works on run artifacts`);
    }

    this.functions = {
      prepareRun,
      startDbtRun,
      checkDbtRun,
      cancelDbtRun,
      startExtract,
      checkExtract,
      evaluate,
      checkServedModel,
      registerModel,
      startDeployment,
      checkDeployment,
      smokeTest,
      rollBackDeployment,
      cleanUpDeployments,
    };
  }
}
