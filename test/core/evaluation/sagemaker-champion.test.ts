import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  SageMakerServiceException,
} from "@aws-sdk/client-sagemaker";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ChampionLookupError, SageMakerChampionSource } from "../../../core/evaluation/sagemaker-champion.ts";
import type { ArtifactStore } from "../../../core/ports/artifact-store.ts";

const sagemaker = mockClient(SageMakerClient);
const client = new SageMakerClient({ region: "eu-west-1" });

function missingEndpoint() {
  return new SageMakerServiceException({
    name: "ValidationException",
    $fault: "client",
    $metadata: {},
    message: 'Could not find endpoint "arn:aws:sagemaker:eu-west-1:1:endpoint/recs".',
  });
}

const metricsStore = (text: string): ArtifactStore =>
  ({
    getText: async (uri: string) =>
      uri === "s3://b/runs/r1/report/metrics.json" ? text : Promise.reject(new Error(uri)),
  }) as unknown as ArtifactStore;

describe("SageMakerChampionSource", () => {
  beforeEach(() => sagemaker.reset());

  it("follows the endpoint to its heaviest variant's model and that model's package metrics", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand, { EndpointName: "recs" }).resolves({ EndpointConfigName: "recs-cfg-2" });
    sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: "recs-cfg-2" }).resolves({
      ProductionVariants: [
        { VariantName: "old", ModelName: "m-old", InitialVariantWeight: 0.1 },
        { VariantName: "new", ModelName: "m-new", InitialVariantWeight: 0.9 },
      ],
    });
    sagemaker.on(DescribeModelCommand, { ModelName: "m-new" }).resolves({
      PrimaryContainer: { ModelDataUrl: "s3://b/runs/r1/model/model.tar.gz", ModelPackageName: "arn:pkg/3" },
    });
    sagemaker.on(DescribeModelPackageCommand, { ModelPackageName: "arn:pkg/3" }).resolves({
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: "s3://b/runs/r1/report/metrics.json" } },
      },
      CustomerMetadataProperties: { "hr@20": "0.1" },
    });
    const source = new SageMakerChampionSource(client, {
      endpointName: "recs",
      modelPackageGroupName: "recs-group",
      store: metricsStore(JSON.stringify({ challenger: { metrics: { "hr@20": 0.41, "mrr@20": 0.17, note: "x" } } })),
    });

    // Act
    const champion = await source.findChampion();

    // Assess
    expect(champion).toEqual({
      modelUri: "s3://b/runs/r1/model/model.tar.gz",
      storedMetrics: { "hr@20": 0.41, "mrr@20": 0.17 },
      description: "endpoint recs → model m-new (package arn:pkg/3)",
    });
    expect(sagemaker.commandCalls(ListModelPackagesCommand)).toHaveLength(0);
  });

  it("uses the latest Approved package when no endpoint exists, reading metrics from its metadata", async () => {
    // Prepare
    sagemaker.on(DescribeEndpointCommand).rejects(missingEndpoint());
    sagemaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: "arn:pkg/5", ModelPackageStatus: "Completed", CreationTime: new Date() },
      ],
    });
    sagemaker.on(DescribeModelPackageCommand, { ModelPackageName: "arn:pkg/5" }).resolves({
      InferenceSpecification: {
        Containers: [{ Image: "img", ModelDataUrl: "s3://b/runs/r5/model/model.tar.gz" }],
        SupportedContentTypes: [],
        SupportedResponseMIMETypes: [],
      },
      CustomerMetadataProperties: { "hr@20": "0.38", "mrr@20": "0.15", runId: "r5" },
    });
    const source = new SageMakerChampionSource(client, { endpointName: "recs", modelPackageGroupName: "recs-group" });

    // Act
    const champion = await source.findChampion();

    // Assess
    expect(champion).toMatchObject({
      modelUri: "s3://b/runs/r5/model/model.tar.gz",
      storedMetrics: { "hr@20": 0.38, "mrr@20": 0.15 },
    });
    expect(champion?.description).toMatch(/latest Approved package arn:pkg\/5 of recs-group/);
    expect(sagemaker.commandCalls(ListModelPackagesCommand)[0]?.args[0].input).toMatchObject({
      ModelPackageGroupName: "recs-group",
      ModelApprovalStatus: "Approved",
      SortBy: "CreationTime",
      SortOrder: "Descending",
      MaxResults: 1,
    });
  });

  it("finds no champion when nothing serves and nothing is approved", async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(missingEndpoint());
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    const source = new SageMakerChampionSource(client, { endpointName: "recs", modelPackageGroupName: "recs-group" });
    expect(await source.findChampion()).toBeUndefined();
  });

  it("surfaces other SageMaker errors as a named error that keeps the cause", async () => {
    const denied = new SageMakerServiceException({
      name: "AccessDeniedException",
      $fault: "client",
      $metadata: {},
      message: "no",
    });
    sagemaker.on(DescribeEndpointCommand).rejects(denied);
    const source = new SageMakerChampionSource(client, { endpointName: "recs" });
    const error = await source.findChampion().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChampionLookupError);
    expect((error as Error).cause).toBe(denied);
  });
});
