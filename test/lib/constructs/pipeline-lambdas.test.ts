import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packTrainedModel, trainedModelMetadata } from "../../../core/model/artifact.ts";
import { selectBackend } from "../../../core/model/backend.ts";
import { trainSessionModel } from "../../../core/model/training.ts";
import { loadDeployConfig } from "../../../lib/config.ts";
import { FUNCTION_ENTRIES } from "../../../lib/constructs/pipeline-lambdas.ts";
import { PipelineStack } from "../../../lib/pipeline-stack.ts";
import { projectPath } from "../../../lib/project-paths.ts";
import { chainSessions, SMALL_PARAMETERS } from "../../core/model/fixture.ts";
import { cdkJsonContext, trainingImageForTemplateTests } from "../synth-app.ts";

const run = promisify(execFile);

/** A plausible deployed value for a CloudFormation reference inside an environment variable. */
function resolved(value: unknown): string {
  if (typeof value === "string") return value;
  const json = JSON.stringify(value);
  if (json.includes("Fn::Join")) {
    return (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1].map(resolved).join("");
  }
  if (json.includes("dkr.ecr")) return "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:0123abcd";
  if (json.includes("Topic")) return "arn:aws:sns:eu-west-1:123456789012:pms-pipeline-runs";
  if (json.includes('"Arn"')) return "arn:aws:iam::123456789012:role/pms-sagemaker";
  return "pms-artifacts-bucket";
}

interface DeployedFunction {
  readonly name: string;
  /** The bundle the CDK staged for the function (its asset folder). */
  readonly assetFolder: string;
  /** The function's environment as the stack sets it, references resolved to plausible values. */
  readonly environment: Record<string, string>;
}

/**
 * The whole stack synthesized with bundling on: every function is bundled by the CDK itself
 * (NodejsFunction's esbuild run and PipelineFunction's afterBundling copies), not by a copy of
 * its settings.
 */
function synthesizeWithBundling(outdir: string): DeployedFunction[] {
  const app = new App({ outdir, context: { ...cdkJsonContext() }, builtinCloudFormationValidation: false });
  const stack = new PipelineStack(app, "BundleTest", {
    config: loadDeployConfig(app),
    trainingImage: trainingImageForTemplateTests(),
  });
  const assembly = app.synth();
  const functions = Template.fromStack(stack).findResources("AWS::Lambda::Function");
  return Object.values(functions).flatMap((fn) => {
    const name = fn.Properties.FunctionName as string | undefined;
    const key = JSON.stringify(fn.Properties.Code?.S3Key ?? "");
    const hash = /([0-9a-f]{64})\.zip/.exec(key)?.[1];
    if (!name || !hash) return [];
    const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    return [
      {
        name,
        assetFolder: join(assembly.directory, `asset.${hash}`),
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolved(v)])),
      },
    ];
  });
}

/**
 * A folder as Lambda lays it out: the bundle alone, plus the AWS SDK v3 clients the Node.js 22
 * runtime provides (linked from this checkout: their own dependencies resolve from there, as the
 * runtime's resolve from /var/runtime). Nothing else the bundle could fall back on.
 */
function loneFolder(root: string, fn: DeployedFunction): string {
  const folder = join(root, fn.name);
  cpSync(fn.assetFolder, folder, { recursive: true });
  const sdk = projectPath("node_modules/@aws-sdk");
  mkdirSync(join(folder, "node_modules/@aws-sdk"), { recursive: true });
  for (const client of readdirSync(sdk).filter((name) => name.startsWith("client-"))) {
    symlinkSync(join(sdk, client), join(folder, "node_modules/@aws-sdk", client));
  }
  return folder;
}

/** What the Lambda runtime sets, plus the function's own environment: nothing from this shell. */
function lambdaEnvironment(fn: DeployedFunction): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    AWS_REGION: "eu-west-1",
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "4096",
    ...fn.environment,
  };
}

/** Started in a child process: one scoring thread on the Evaluate bundle, as loadModelForScoring starts it. */
const SCORE_IN_A_WORKER = `
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
const bundle = process.env.PMS_TEST_BUNDLE;
const archive = process.env.PMS_TEST_ARCHIVE;
const worker = new Worker(bundle, {
  execArgv: [],
  workerData: { pmsScoringWorker: true, bytes: new Uint8Array(readFileSync(archive)), source: archive },
});
const next = () => new Promise((resolve, reject) => { worker.once("message", resolve); worker.once("error", reject); });
const ready = await next();
if (ready.kind !== "ready") throw new Error(JSON.stringify(ready));
worker.postMessage({ id: 1, sessions: [["sku-1", "sku-10"], ["sku-3"]], k: 5 });
const scored = await next();
console.log(JSON.stringify({ backend: ready.backend, scored }));
await worker.terminate();
`;

let root: string;
let deployed: DeployedFunction[];
let archive: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "pms-bundles-"));
  deployed = synthesizeWithBundling(join(root, "cdk.out"));
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  const trained = await trainSessionModel(chainSessions(120, 30, 1), chainSessions(20, 30, 2), {
    ...SMALL_PARAMETERS,
    epochs: 1,
  });
  archive = join(root, "model.tar.gz");
  writeFileSync(
    archive,
    await packTrainedModel(
      trained,
      trainedModelMetadata(trained, { runId: "bundle-test", hyperparameters: SMALL_PARAMETERS, trainedOn: "wasm" }),
    ),
  );
  trained.model.dispose();
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the pipeline's Lambdas, bundled by the CDK and started as Lambda starts them", () => {
  it("bundles every handler entry (notify's included)", () => {
    expect(deployed.map((fn) => fn.name).sort()).toEqual(
      Object.keys(FUNCTION_ENTRIES)
        .map((key) => `pms-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`)
        .sort(),
    );
  });

  it("each loads (module scope: SDK clients, Powertools, environment) in a folder holding only its bundle and the runtime's SDK clients", async () => {
    // Act: import each bundle in a fresh process with only the environment Lambda gives it.
    const outcomes = await Promise.all(
      deployed.map(async (fn) => {
        const folder = loneFolder(join(root, "load"), fn);
        const script = `import(${JSON.stringify(join(folder, "index.mjs"))}).then((m) => { if (typeof m.handler !== "function") throw new Error("no handler export"); })`;
        try {
          await run(process.execPath, ["--input-type=module", "-e", script], {
            cwd: folder,
            env: lambdaEnvironment(fn),
            timeout: 60_000,
          });
          return `${fn.name}: ok`;
        } catch (error) {
          const stderr = String((error as { stderr?: string }).stderr ?? error);
          const reason = stderr.split("\n").find((line) => /^\w*Error\b|Cannot find/.test(line.trim()));
          return `${fn.name}: ${reason ?? stderr.slice(0, 300)}`;
        }
      }),
    );

    // Assess
    expect(outcomes).toEqual(deployed.map((fn) => `${fn.name}: ok`));
  }, 120_000);

  it("the Evaluate bundle scores a model on wasm in its worker threads, with the .wasm files beside it", async () => {
    // Prepare
    const evaluate = deployed.find((fn) => fn.name === "pms-evaluate");
    expect(evaluate).toBeDefined();
    const folder = loneFolder(join(root, "score"), evaluate as DeployedFunction);
    expect(existsSync(join(folder, "tfjs-backend-wasm.wasm"))).toBe(true);

    // Act
    const { stdout, stderr } = await run(process.execPath, ["--input-type=module", "-e", SCORE_IN_A_WORKER], {
      cwd: folder,
      env: {
        ...lambdaEnvironment(evaluate as DeployedFunction),
        PMS_TEST_BUNDLE: join(folder, "index.mjs"),
        PMS_TEST_ARCHIVE: archive,
      },
      timeout: 120_000,
    });

    // Assess
    const outcome = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      backend: string;
      scored: { kind: string; result: { recommendations: unknown[][] } };
    };
    expect(outcome.backend).toBe("wasm");
    // The thread reports its backend to the parent in its ready message; it prints only the fallback, with its reason.
    expect(stderr).toMatch(/TF\.js backend wasm chosen after: tensorflow: /);
    expect(stderr).not.toMatch(/TF\.js backend:? cpu/);
    expect(outcome.scored.kind).toBe("result");
    expect(outcome.scored.result.recommendations.map((list) => list.length)).toEqual([5, 5]);
  }, 180_000);
});
