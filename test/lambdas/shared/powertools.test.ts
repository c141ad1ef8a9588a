import { readFileSync } from "node:fs";
import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EvaluationSummary } from "../../../core/evaluation/suite.ts";
import type { TrainingMetrics } from "../../../core/model/training-metrics.ts";
import { METRICS_NAMESPACE, PIPELINE_METRICS } from "../../../lambdas/shared/metric-names.ts";
import { recordDeployedVersion, recordEvaluation } from "../../../lambdas/shared/pipeline-metrics.ts";
import { createPowertools, instrumentHandler } from "../../../lambdas/shared/powertools.ts";
import { FUNCTION_ENTRIES } from "../../../lib/constructs/pipeline-lambdas.ts";
import { projectPath } from "../../../lib/project-paths.ts";

const CONTEXT = {
  functionName: "pms-evaluate",
  functionVersion: "$LATEST",
  memoryLimitInMB: "4096",
  awsRequestId: "req-1",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:pms-evaluate",
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

let lines: Record<string, unknown>[];
beforeEach(() => {
  lines = [];
  vi.stubEnv("POWERTOOLS_SERVICE_NAME", "pms-evaluate");
  // Powertools writes each log line and each EMF document to stdout as one JSON line.
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk)
      .split("\n")
      .filter((text) => text.startsWith("{")))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const logsWith = (message: string) => lines.filter((line) => line.message === message);
const emfDocuments = () => lines.filter((line) => "_aws" in line);

describe("instrumentHandler (Powertools injectLambdaContext and logMetrics)", () => {
  it("puts the Lambda context and the execution name, as correlation id, on every log line", async () => {
    // Prepare
    const tools = createPowertools("evaluate");
    const handler = instrumentHandler(tools, async () => {
      tools.logger.info("working");
      return "done";
    });

    // Act: a Task's state, "Prepare the run"'s event, and notify's EventBridge event.
    await handler({ run: { executionName: "nightly-2026-11-26" } }, CONTEXT);
    await handler({ input: {}, execution: { name: "manual-42" } }, CONTEXT);
    await handler({ "detail-type": "Step Functions Execution Status Change", detail: { name: "nightly-x" } }, CONTEXT);
    await handler({ unrelated: true }, CONTEXT);

    // Assess: the last event names no execution, and the previous one's id does not leak into it.
    const working = logsWith("working");
    expect(working.map((line) => line.correlation_id)).toEqual([
      "nightly-2026-11-26",
      "manual-42",
      "nightly-x",
      undefined,
    ]);
    expect(working[0]).toMatchObject({
      function_name: "pms-evaluate",
      function_request_id: "req-1",
      service: "evaluate",
    });
  });

  it("flushes the metrics a handler stored as one EMF document, also when the handler throws", async () => {
    // Prepare
    const tools = createPowertools("evaluate");
    const handler = instrumentHandler(
      tools,
      async (event: unknown) => {
        recordDeployedVersion(tools.metrics, event);
        if ((event as { fail?: boolean }).fail) throw new Error("boom");
        return "ok";
      },
      { emitsMetrics: true },
    );
    const state = {
      registration: { modelPackageArn: "arn:aws:sagemaker:eu-west-1:1:model-package/pms-recommender/7" },
    };

    // Act
    await handler(state, CONTEXT);
    await expect(handler({ ...state, fail: true }, CONTEXT)).rejects.toThrow("boom");

    // Assess
    const documents = emfDocuments();
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({ [PIPELINE_METRICS.deployedModelVersion]: 7, service: "pms-evaluate" });
    expect(documents[0]?._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [["service"]] }],
    });
  });
});

describe("the pipeline's metrics", () => {
  it("records the challenger's HR@20 and MRR@20, the gate's verdict and the training seconds", async () => {
    // Prepare
    const tools = createPowertools("evaluate");
    const summary = {
      challenger: { metrics: { "hr@20": 0.61, "mrr@20": 0.27, "hr@10": 0.5 } },
      gate: { passed: false },
    } as unknown as EvaluationSummary;
    const training = { totals: { trainingSeconds: 742.5 } } as unknown as TrainingMetrics;

    // Act
    recordEvaluation(tools.metrics, summary, training);
    tools.metrics.publishStoredMetrics();

    // Assess
    const [document] = emfDocuments();
    expect(document).toMatchObject({ HitRateAt20: 0.61, MrrAt20: 0.27, GatePassed: 0, TrainingSeconds: 742.5 });
    const emf = document?._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] } | undefined;
    const definitions = emf?.CloudWatchMetrics[0]?.Metrics;
    expect(definitions).toContainEqual({ Name: "TrainingSeconds", Unit: "Seconds" });
    expect(definitions?.map((metric) => metric.Name)).not.toContain("hr@10");
  });

  it("reads the deployed version from the registered model package's ARN, and nothing without one", () => {
    const tools = createPowertools("clean-up-deployments");
    expect(
      recordDeployedVersion(tools.metrics, {
        registration: { modelPackageArn: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/pms-recommender/12" },
      }),
    ).toBe(12);
    expect(recordDeployedVersion(tools.metrics, { registration: { modelPackageArn: "local:pms-recommender:3" } })).toBe(
      undefined,
    );
    expect(recordDeployedVersion(tools.metrics, {})).toBeUndefined();
  });
});

describe("the handler entries", () => {
  it("all export a handler wrapped by instrumentHandler, with their Powertools made once by createPowertools", () => {
    const bare = Object.values(FUNCTION_ENTRIES).filter((entry) => {
      const code = readFileSync(projectPath(entry), "utf8");
      return !/export const handler = instrumentHandler\(\s*powertools,/.test(code) || !/createPowertools\(/.test(code);
    });
    expect(bare).toEqual([]);
  });
});
