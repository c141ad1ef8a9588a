import {
  type ContainerDefinition,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput,
  ListModelPackagesCommand,
  type SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import { type Champion, type ChampionSource, metricsFromMetricsJson, metricsFromRecord } from "./champion.ts";

export interface SageMakerChampionOptions {
  /** The endpoint whose current model is the champion. */
  readonly endpointName?: string;
  /** Where registered versions live; the latest Approved one is the champion when no endpoint serves. */
  readonly modelPackageGroupName?: string;
  /** Reads the metrics file a model package's `ModelMetrics.ModelQuality.Statistics` points at. */
  readonly store?: ArtifactStore;
}

export class ChampionLookupError extends Error {
  override readonly name = "ChampionLookupError";
}

function isEndpointMissing(error: unknown): boolean {
  const named = error as { name?: string; message?: string };
  return named.name === "ValidationException" && /could not find/i.test(named.message ?? "");
}

function modelDataOf(container: ContainerDefinition | undefined): string | undefined {
  return container?.ModelDataUrl ?? container?.ModelDataSource?.S3DataSource?.S3Uri;
}

/**
 * Finds the champion in SageMaker: the model behind the endpoint's current configuration (the
 * variant with the largest weight), with the metrics of its model package when it was created from
 * one; when no endpoint exists, the latest Approved package of the group. Read-only calls:
 * DescribeEndpoint, DescribeEndpointConfig, DescribeModel, ListModelPackages, DescribeModelPackage.
 */
export class SageMakerChampionSource implements ChampionSource {
  constructor(
    private readonly client: SageMakerClient,
    private readonly options: SageMakerChampionOptions,
  ) {}

  async findChampion(): Promise<Champion | undefined> {
    const serving = this.options.endpointName ? await this.servingModel(this.options.endpointName) : undefined;
    if (serving) {
      const packaged = serving.modelPackage ? await this.describePackage(serving.modelPackage) : undefined;
      const storedMetrics = packaged ? await this.packageMetrics(packaged) : undefined;
      return {
        ...(serving.modelUri ? { modelUri: serving.modelUri } : {}),
        ...(storedMetrics && Object.keys(storedMetrics).length > 0 ? { storedMetrics } : {}),
        description: `endpoint ${this.options.endpointName} → model ${serving.modelName}${serving.modelPackage ? ` (package ${serving.modelPackage})` : ""}`,
      };
    }
    if (!this.options.modelPackageGroupName) return undefined;
    const latest = await this.client.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: this.options.modelPackageGroupName,
        ModelApprovalStatus: "Approved",
        SortBy: "CreationTime",
        SortOrder: "Descending",
        MaxResults: 1,
      }),
    );
    const arn = latest.ModelPackageSummaryList?.[0]?.ModelPackageArn;
    if (!arn) return undefined;
    const packaged = await this.describePackage(arn);
    const storedMetrics = await this.packageMetrics(packaged);
    const modelUri = modelDataOf(packaged.InferenceSpecification?.Containers?.[0] as ContainerDefinition | undefined);
    return {
      ...(modelUri ? { modelUri } : {}),
      ...(Object.keys(storedMetrics).length > 0 ? { storedMetrics } : {}),
      description: `latest Approved package ${arn} of ${this.options.modelPackageGroupName} (no endpoint serving)`,
    };
  }

  private async servingModel(
    endpointName: string,
  ): Promise<{ modelName: string; modelUri?: string; modelPackage?: string } | undefined> {
    let endpointConfigName: string | undefined;
    try {
      endpointConfigName = (await this.client.send(new DescribeEndpointCommand({ EndpointName: endpointName })))
        .EndpointConfigName;
    } catch (error) {
      if (isEndpointMissing(error)) return undefined;
      throw new ChampionLookupError(`Could not describe endpoint ${endpointName}`, { cause: error });
    }
    if (!endpointConfigName) return undefined;
    const config = await this.client.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }),
    );
    const variant = [...(config.ProductionVariants ?? [])].sort(
      (a, b) => (b.InitialVariantWeight ?? 1) - (a.InitialVariantWeight ?? 1),
    )[0];
    if (!variant?.ModelName) return undefined;
    const model = await this.client.send(new DescribeModelCommand({ ModelName: variant.ModelName }));
    const container = model.PrimaryContainer ?? model.Containers?.[0];
    const modelUri = modelDataOf(container);
    return {
      modelName: variant.ModelName,
      ...(modelUri ? { modelUri } : {}),
      ...(container?.ModelPackageName ? { modelPackage: container.ModelPackageName } : {}),
    };
  }

  private describePackage(name: string): Promise<DescribeModelPackageCommandOutput> {
    return this.client.send(new DescribeModelPackageCommand({ ModelPackageName: name }));
  }

  /**
   * A package's metrics: the evaluation's metrics.json its ModelQuality statistics point at, else
   * the `hr@20`-style keys of its customer metadata.
   */
  private async packageMetrics(packaged: DescribeModelPackageCommandOutput): Promise<Record<string, number>> {
    const statisticsUri = packaged.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
    if (statisticsUri && this.options.store) {
      try {
        const metrics = metricsFromMetricsJson(await this.options.store.getText(statisticsUri));
        if (Object.keys(metrics).length > 0) return metrics;
      } catch {
        // An unreadable metrics file is not fatal: the customer metadata may still carry the figures.
      }
    }
    return metricsFromRecord(packaged.CustomerMetadataProperties);
  }
}
