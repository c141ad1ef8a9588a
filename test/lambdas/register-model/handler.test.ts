import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SageMakerModelRegistry } from "../../../core/deploy/registry.ts";
import type { ServedModelCheckResult } from "../../../core/pipeline/contracts.ts";
import type { RunContext } from "../../../core/pipeline/run-context.ts";
import { createRegisterModelHandler } from "../../../lambdas/register-model/handler.ts";
import { evaluation, IMAGE, runContext } from "../../core/deploy/fixtures.ts";

const sagemaker = mockClient(SageMakerClient);
const GROUP = "post-modern-stack-recommender";
const ARN = `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${GROUP}/4`;

function registerModel() {
  return createRegisterModelHandler({
    registry: new SageMakerModelRegistry({
      sagemaker: new SageMakerClient({ region: "eu-west-1" }),
      modelPackageGroupName: GROUP,
      servingImageUri: IMAGE,
      tags: { project: "post-modern-stack" },
    }),
  });
}

function servedModelCheck(run: RunContext): ServedModelCheckResult {
  return {
    passed: true,
    points: 5120,
    maxHitRateDrop: 0.05,
    evaluated: {
      modelUri: run.uris.evaluatedModel,
      "hr@20": 0.6412,
      "mrr@20": 0.3301,
      trainedOn: { splits: ["train"], firstDay: "2014-04-01", lastDay: "2014-04-06", sessions: 38000 },
    },
    served: {
      modelUri: run.uris.model,
      "hr@20": 0.6455,
      "mrr@20": 0.3325,
      trainedOn: { splits: ["train", "test"], firstDay: "2014-04-01", lastDay: "2014-04-07", sessions: 44100 },
    },
  };
}

async function register(run: RunContext, passed: boolean) {
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP } as never);
  sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: ARN });
  const result = await registerModel()({
    run,
    evaluation: evaluation(passed, run),
    train: { evaluated: { jobId: "j1", status: "SUCCEEDED" }, served: { jobId: "j2", status: "SUCCEEDED" } },
    servedModelCheck: servedModelCheck(run),
  });
  const input = sagemaker.commandCalls(CreateModelPackageCommand)[0]?.args[0].input;
  return { result, input };
}

beforeEach(() => sagemaker.reset());

describe("register-model handler", () => {
  it("registers the served model of a run that passed the gate as an Approved version, recording both models", async () => {
    // Prepare
    const run = runContext();

    // Act
    const { result, input } = await register(run, true);

    // Assess
    expect(result).toEqual({ modelPackageArn: ARN, approvalStatus: "Approved" });
    expect(input).toEqual({
      ModelPackageGroupName: GROUP,
      ModelPackageDescription: `Run ${run.runId} (2014-04-01..2014-04-07). Approved: the quality gate passed`,
      InferenceSpecification: {
        Containers: [{ Image: IMAGE, ModelDataUrl: run.uris.model }],
        SupportedContentTypes: ["application/json"],
        SupportedResponseMIMETypes: ["application/json"],
      },
      ModelApprovalStatus: "Approved",
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: run.uris.metrics } } },
      CustomerMetadataProperties: {
        RunId: run.runId,
        ExecutionName: "nightly-2026-11-26",
        Trigger: "schedule",
        Window: "2014-04-01/2014-04-07",
        Tenant: "shop-1",
        DeployMode: "auto",
        GatePassed: "true",
        ApprovalReason: "Approved: the quality gate passed",
        ReportUri: run.uris.report,
        MetricsUri: run.uris.metrics,
        ModelUri: run.uris.model,
        EvaluatedModelUri: run.uris.evaluatedModel,
        ServedModelTrainedOn: "train+test 2014-04-01/2014-04-07 44100 sessions",
        EvaluatedModelTrainedOn: "train 2014-04-01/2014-04-06 38000 sessions",
        ServedModelValidationHr20: "0.6455",
        EvaluatedModelValidationHr20: "0.6412",
      },
      ClientToken: run.shortId,
      Tags: [
        { Key: "pms:run-id", Value: run.runId },
        { Key: "project", Value: "post-modern-stack" },
      ],
    });
  });

  it("rejects a model that failed the gate, with the gate's reasons", async () => {
    // Prepare / Act
    const { result, input } = await register(runContext(), false);

    // Assess
    expect(result.approvalStatus).toBe("Rejected");
    expect(input?.ModelApprovalStatus).toBe("Rejected");
    expect(input?.CustomerMetadataProperties?.ApprovalReason).toBe("Rejected: the quality gate failed hr@20 0.05 0.1");
  });

  it("approves a forced deployment of a failing model and records why it was forced", async () => {
    // Prepare / Act
    const { result, input } = await register(
      runContext({ deploy: "force", reason: "hotfix for the catalogue change <JIRA-12>" }),
      false,
    );

    // Assess
    expect(result.approvalStatus).toBe("Approved");
    expect(input?.CustomerMetadataProperties?.DeployMode).toBe("force");
    expect(input?.CustomerMetadataProperties?.ApprovalReason).toBe(
      "Deployment forced by the execution the quality gate failed hr@20 0.05 0.1 reason given: hotfix for the catalogue change JIRA-12",
    );
    expect(input?.ModelPackageDescription).toContain("reason given: hotfix for the catalogue change <JIRA-12>");
  });

  it("leaves a passing model of a deploy=skip execution pending manual approval", async () => {
    // Prepare / Act
    const { result } = await register(runContext({ deploy: "skip" }), true);

    // Assess
    expect(result.approvalStatus).toBe("PendingManualApproval");
  });

  it("creates the project's model package group the first time", async () => {
    // Prepare
    sagemaker
      .on(DescribeModelPackageGroupCommand)
      .rejects(Object.assign(new Error(`ModelPackageGroup ${GROUP} does not exist.`), { name: "ValidationException" }));
    sagemaker.on(CreateModelPackageGroupCommand).resolves({ ModelPackageGroupArn: "arn:group" });
    sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: ARN });

    // Act
    await registerModel()({
      run: runContext(),
      evaluation: evaluation(true),
      servedModelCheck: servedModelCheck(runContext()),
    });

    // Assess
    expect(sagemaker.commandCalls(CreateModelPackageGroupCommand)[0]?.args[0].input).toMatchObject({
      ModelPackageGroupName: GROUP,
    });
    expect(sagemaker.commandCalls(CreateModelPackageCommand)).toHaveLength(1);
  });

  it("fails with RegistrationFailed, keeping the cause, when SageMaker refuses", async () => {
    // Prepare
    sagemaker.on(DescribeModelPackageGroupCommand).resolves({} as never);
    sagemaker.on(CreateModelPackageCommand).rejects(new Error("AccessDenied"));

    // Act / Assess
    await expect(
      registerModel()({
        run: runContext(),
        evaluation: evaluation(true),
        servedModelCheck: servedModelCheck(runContext()),
      }),
    ).rejects.toMatchObject({
      name: "RegistrationFailed",
      cause: expect.objectContaining({ message: "AccessDenied" }),
    });
  });

  it("names the missing field when the state lacks the evaluation", async () => {
    // Act / Assess
    await expect(
      registerModel()({ run: runContext(), servedModelCheck: servedModelCheck(runContext()) }),
    ).rejects.toThrow(/evaluation/);
  });

  it("refuses to register a run whose served model was not checked, naming the missing field", async () => {
    // Act / Assess
    await expect(registerModel()({ run: runContext(), evaluation: evaluation(true) })).rejects.toThrow(
      /servedModelCheck/,
    );
    expect(sagemaker.commandCalls(CreateModelPackageCommand)).toHaveLength(0);
  });
});
