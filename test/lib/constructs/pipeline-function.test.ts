import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { MissingHandlerEntryError, PipelineFunction } from "../../../lib/constructs/pipeline-function.ts";

describe("PipelineFunction", () => {
  it("bundles an ESM handler with esbuild, keeping DuckDB out and copying the files it loads at run time", () => {
    // Prepare: real bundling, the one place the tests pay for esbuild.
    const app = new App({
      outdir: join(process.env.TMPDIR ?? "/tmp", `pms-bundle-${process.pid}`),
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, "Test");

    // Act
    new PipelineFunction(stack, "Probe", {
      entry: "test/lib/fixtures/handler/index.ts",
      functionName: "pms-probe",
      description: "bundling probe",
      environment: { PMS_PROBE: "1" },
      logRetention: logs.RetentionDays.ONE_WEEK,
      copyToBundle: ["node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"],
    });
    const assembly = app.synth();

    // Assess
    const assetDirectories = readdirSync(assembly.directory).filter((name) => name.startsWith("asset."));
    const bundle = assetDirectories
      .map((name) => join(assembly.directory, name))
      .find((dir) => existsSync(join(dir, "index.mjs")));
    expect(bundle, "an index.mjs bundle").toBeDefined();
    const code = readFileSync(join(bundle as string, "index.mjs"), "utf8");
    expect(code).toMatch(/from\s*"@duckdb\/node-api"/);
    // The banner that gives bundled CommonJS code require, __filename and __dirname survived the shell.
    expect(code).toContain("const __dirname = pmsDirname(__filename);");
    expect(existsSync(join(bundle as string, "tfjs-backend-wasm.wasm"))).toBe(true);
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Environment: {
        Variables: { PMS_PROBE: "1", POWERTOOLS_SERVICE_NAME: "pms-probe", POWERTOOLS_LOG_LEVEL: "INFO" },
      },
    });
  });

  it("names the missing entry instead of failing inside esbuild", () => {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), "Test");
    expect(
      () =>
        new PipelineFunction(stack, "Missing", {
          entry: "lambdas/no-such-task/index.ts",
          functionName: "pms-missing",
          description: "missing",
          environment: {},
          logRetention: logs.RetentionDays.ONE_WEEK,
        }),
    ).toThrow(MissingHandlerEntryError);
  });
});
