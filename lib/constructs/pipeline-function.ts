import { existsSync } from "node:fs";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { acknowledgeNag, wildcardResource } from "../nag.ts";
import { PROJECT_ROOT, projectPath } from "../project-paths.ts";

/** Packages no Lambda loads (DuckDB and tfjs-node are for the local twin and the training image). */
export const EXCLUDED_MODULES = ["@duckdb/node-api", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"];

/**
 * What the functions take from the Node.js 22 runtime instead of their bundle: the AWS SDK v3
 * service clients ("Runtime versions nodejs18.x and later include version 3 of the SDK",
 * docs.aws.amazon.com/lambda/latest/dg/nodejs-package.html). Only the clients: the other
 * `@aws-sdk/*` packages a dependency loads (snowflake-sdk loads credential-provider-node and
 * ec2-metadata-service at start-up) are bundled, so no function depends on what else the runtime
 * happens to ship. test/lambdas/bundles.test.ts starts every bundle with nothing else beside it.
 */
export const RUNTIME_PROVIDED_MODULES = ["@aws-sdk/client-*"];

/**
 * The bundle is ESM (handlers may await at module scope), but CommonJS dependencies bundled into
 * it still call `require` and read `__dirname`/`__filename` (snowflake-sdk does at load time):
 * give them all three, derived from the bundle's own URL.
 */
export const ESM_REQUIRE_BANNER = [
  "import { createRequire as pmsCreateRequire } from 'node:module';",
  "import { fileURLToPath as pmsFileURLToPath } from 'node:url';",
  "import { dirname as pmsDirname } from 'node:path';",
  "const require = pmsCreateRequire(import.meta.url);",
  "const __filename = pmsFileURLToPath(import.meta.url);",
  "const __dirname = pmsDirname(__filename);",
].join(" ");

export interface PipelineFunctionProps {
  /** Entry file relative to the project root, e.g. `lambdas/prepare-run/index.ts`. */
  readonly entry: string;
  readonly functionName: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /**
   * Files copied next to the bundle (paths relative to the project root), for code that loads
   * them from its own directory at run time, e.g. the TF.js wasm binaries.
   * @default none
   */
  readonly copyToBundle?: readonly string[];
}

export class MissingHandlerEntryError extends Error {
  override readonly name = "MissingHandlerEntry";
  constructor(readonly entry: string) {
    super(`The handler entry ${entry} does not exist: write lambdas/<task>/index.ts before synthesizing.`);
  }
}

/**
 * A pipeline Lambda as every Task needs it: Node 22, esbuild bundle, Powertools environment,
 * X-Ray, its own log group with the configured retention, and its own role with nothing but
 * log writing — each caller then grants exactly what that function needs.
 */
export class PipelineFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const entry = projectPath(props.entry);
    if (!existsSync(entry)) throw new MissingHandlerEntryError(props.entry);
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.functionName}: ${props.description}`,
    });
    const copies = props.copyToBundle ?? [];
    super(scope, id, {
      entry,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: projectPath("package-lock.json"),
      functionName: props.functionName,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.functionName,
        POWERTOOLS_LOG_LEVEL: "INFO",
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: "node22",
        mainFields: ["module", "main"],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        keepNames: true,
        sourceMap: false,
        externalModules: [...RUNTIME_PROVIDED_MODULES, ...EXCLUDED_MODULES],
        commandHooks:
          copies.length === 0
            ? undefined
            : {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) =>
                  copies.map((file) => `cp "${inputDir}/${file}" "${outputDir}/"`),
              },
      },
    });
    logGroup.grantWrite(role);
    acknowledgeNag(
      this,
      "AwsSolutions-L1",
      "Pinned to nodejs22.x, the Node line the project is tested on (CI, local twin); moving to a newer runtime is a deliberate, tested upgrade.",
    );
    acknowledgeNag(
      role,
      "AwsSolutions-IAM5",
      "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, so Lambda's active tracing grants them on Resource *.",
      [wildcardResource("xray:PutTraceSegments", "xray:PutTelemetryRecords")],
    );
  }
}
