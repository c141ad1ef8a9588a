import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { loadDeployConfig } from "../../../lib/config.ts";
import { ESM_REQUIRE_BANNER, EXCLUDED_MODULES } from "../../../lib/constructs/pipeline-function.ts";
import { FUNCTION_ENTRIES, type FunctionName } from "../../../lib/constructs/pipeline-lambdas.ts";
import { PipelineStack } from "../../../lib/pipeline-stack.ts";
import { projectPath } from "../../../lib/project-paths.ts";
import { cdkJsonContext, functionEntriesForTemplateTests, trainingImageForTemplateTests } from "../synth-app.ts";

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

/** Each function's environment, as the stack sets it (references resolved to plausible values). */
function environments(): Record<string, Record<string, string>> {
  const app = new App({
    context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new PipelineStack(app, "Test", {
    config: loadDeployConfig(app),
    functionEntries: functionEntriesForTemplateTests(),
    trainingImage: trainingImageForTemplateTests(),
  });
  const functions = Template.fromStack(stack).findResources("AWS::Lambda::Function");
  const byName: Record<string, Record<string, string>> = {};
  for (const fn of Object.values(functions)) {
    const name = fn.Properties.FunctionName as string | undefined;
    if (!name) continue;
    const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    byName[name] = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, resolved(value)]));
  }
  return byName;
}

const functionName = (key: string) => `pms-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

describe("the pipeline handlers, bundled as the stack bundles them", () => {
  it("each start (module scope: SDK clients, environment) with exactly the environment the stack gives it, importing no excluded package", async () => {
    // Prepare: one esbuild pass over every entry, with PipelineFunction's settings, written where
    // Node finds the AWS SDK the Lambda runtime provides.
    const outdir = projectPath("node_modules/.cache/pms-lambda-bundles");
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    const present = Object.entries(FUNCTION_ENTRIES).filter(([, entry]) => existsSync(projectPath(entry)));
    const bundled = await build({
      entryPoints: Object.fromEntries(present.map(([name, entry]) => [name, projectPath(entry)])),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      mainFields: ["module", "main"],
      banner: { js: ESM_REQUIRE_BANNER },
      external: ["@aws-sdk/*", ...EXCLUDED_MODULES],
      outdir,
      outExtension: { ".js": ".mjs" },
      metafile: true,
      logLevel: "silent",
    });
    // A static import of an excluded package (DuckDB, tfjs-node) would fail every cold start; a
    // dynamic one in a branch only the local twin takes is fine.
    const excludedImports = Object.entries(bundled.metafile.outputs).flatMap(([output, meta]) =>
      meta.imports
        .filter(
          (imported) =>
            imported.external && imported.kind !== "dynamic-import" && EXCLUDED_MODULES.includes(imported.path),
        )
        .map((imported) => `${output} imports ${imported.path}`),
    );
    const environmentByFunction = environments();

    // Act: import each bundle in a fresh process with only its own environment.
    const outcomes = await Promise.all(
      present.map(async ([name]) => {
        const env = {
          PATH: process.env.PATH ?? "",
          AWS_REGION: "eu-west-1",
          ...environmentByFunction[functionName(name)],
        };
        const script = `import(${JSON.stringify(join(outdir, `${name}.mjs`))}).then((m) => { if (typeof m.handler !== "function") throw new Error("no handler export"); })`;
        try {
          await run(process.execPath, ["--input-type=module", "-e", script], { env, timeout: 60_000 });
          return `${name}: ok`;
        } catch (error) {
          const stderr = String((error as { stderr?: string }).stderr ?? error);
          return `${name}: ${stderr.split("\n").find((line) => /Error/.test(line)) ?? stderr.slice(0, 300)}`;
        }
      }),
    );

    // Assess
    expect(excludedImports).toEqual([]);
    expect(outcomes).toEqual(present.map(([name]) => `${name as FunctionName}: ok`));
  }, 180_000);
});
