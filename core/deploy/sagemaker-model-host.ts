import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  ListTagsCommand,
  paginateListEndpointConfigs,
  paginateListModels,
  type SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import type { CleanupResult } from "../pipeline/contracts.ts";
import type {
  DeploymentRequest,
  EndpointDeployment,
  EndpointStatus,
  InvocationRequest,
  InvocationResponse,
  ModelHost,
} from "../ports/model-host.ts";
import { type CleanUpRequest, type DeploymentCleaner, type DeploymentResource, planCleanUp } from "./cleanup.ts";
import { TRANSITIONAL_STATUSES } from "./deployment-state.ts";
import { DeploymentError, EndpointBusyError, EndpointNeedsAttentionError, EndpointNotFoundError } from "./errors.ts";
import { parseInvocationResponse } from "./invocation.ts";
import { assertSageMakerName, deploymentResourceName, deploymentResourcePrefix, toTags } from "./names.ts";
import {
  blueGreenDeploymentConfig,
  type EndpointSettings,
  productionVariant,
  ROLLBACK_DEPLOYMENT_CONFIG,
} from "./settings.ts";

/** Tag on an endpoint config naming the config it replaced, so a retried deploy still knows what to roll back to. */
export const PREVIOUS_CONFIG_TAG = "pms:previous-endpoint-config";
/** Tag naming the endpoint a model or config was made for: clean-up deletes only what carries it. */
export const ENDPOINT_TAG = "pms:endpoint";
export const RUN_TAG = "pms:run-id";

export interface SageMakerModelHostOptions {
  /** The endpoint `deploy` targets when the request names none (`PMS_ENDPOINT_NAME`). */
  readonly endpointName?: string;
  readonly sagemaker: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
  /** The serving container (the training image, started by SageMaker with `serve`). */
  readonly servingImageUri?: string;
  readonly executionRoleArn?: string;
  readonly settings?: EndpointSettings;
  /** CloudWatch alarms that roll an update back (created by the CDK stack). */
  readonly rollbackAlarmNames?: readonly string[];
  /** The pipeline's deploy timeout; SageMaker's own update timeout stays inside it. */
  readonly deployTimeoutSeconds?: number;
  /** Tags on every resource, on top of the request's. */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The SageMaker adapter of `ModelHost`: one long-lived real-time endpoint whose model is replaced
 * only through blue/green updates guarded by CloudWatch alarms. Each deployment adds a model and an
 * endpoint config named `<endpoint>-<shortId>`; `cleanUp` removes the old ones.
 */
export class SageMakerModelHost implements ModelHost, DeploymentCleaner {
  constructor(private readonly options: SageMakerModelHostOptions) {}

  async deploy(request: DeploymentRequest): Promise<EndpointDeployment> {
    const endpointName = request.endpointName ?? this.required("endpointName");
    assertSageMakerName(endpointName, "endpoint name");
    const name = deploymentResourceName(endpointName, request.shortId);
    const endpoint = await this.describe(endpointName);

    if (endpoint && TRANSITIONAL_STATUSES.has(endpoint.EndpointStatus ?? "")) {
      // A retried "Start the deployment" whose first attempt got through: report that deployment.
      if (endpoint.EndpointStatus === "Creating" && endpoint.EndpointConfigName === name) {
        return deployment(endpointName, name, null);
      }
      if (endpoint.PendingDeploymentSummary?.EndpointConfigName === name) {
        return deployment(endpointName, name, endpoint.EndpointConfigName ?? null);
      }
      throw new EndpointBusyError(endpointName, endpoint.EndpointStatus ?? "busy");
    }
    if (endpoint?.EndpointStatus === "Failed") {
      // A Failed endpoint never served (a failed update returns to InService); SageMaker only
      // allows deleting it. Delete and let the Task's Retry create it anew once it is gone.
      await this.options.sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
      throw new EndpointBusyError(
        endpointName,
        "Failed",
        `Endpoint ${endpointName} was Failed (${endpoint.FailureReason ?? "no reason given"}); it is being deleted, retry to create it anew`,
      );
    }
    if (endpoint && endpoint.EndpointStatus !== "InService") {
      throw new EndpointNeedsAttentionError(
        `Endpoint ${endpointName} is ${endpoint.EndpointStatus}${endpoint.FailureReason ? ` (${endpoint.FailureReason})` : ""}; resolve it in the SageMaker console, then run again`,
      );
    }
    const serving = endpoint?.EndpointConfigName ?? null;
    if (serving === name) {
      return deployment(endpointName, name, await this.previousConfigOf(name));
    }

    const tags = toTags({
      ...this.options.tags,
      ...request.tags,
      [RUN_TAG]: request.runId,
      [ENDPOINT_TAG]: endpointName,
    });
    await ignoreAlreadyExists(() =>
      this.options.sagemaker.send(
        new CreateModelCommand({
          ModelName: name,
          PrimaryContainer: { Image: this.required("servingImageUri"), ModelDataUrl: request.modelUri },
          ExecutionRoleArn: this.required("executionRoleArn"),
          Tags: request.modelPackageArn
            ? [...tags, { Key: "pms:model-package", Value: request.modelPackageArn }]
            : tags,
        }),
      ),
    );
    await ignoreAlreadyExists(() =>
      this.options.sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: name,
          ProductionVariants: [productionVariant(this.required("settings"), name)],
          Tags: serving ? [...tags, { Key: PREVIOUS_CONFIG_TAG, Value: serving }] : tags,
        }),
      ),
    );
    if (endpoint === null) {
      await this.options.sagemaker.send(
        new CreateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: name, Tags: tags }),
      );
    } else {
      await this.options.sagemaker.send(
        new UpdateEndpointCommand({
          EndpointName: endpointName,
          EndpointConfigName: name,
          RetainAllVariantProperties: false,
          RetainDeploymentConfig: false,
          DeploymentConfig: blueGreenDeploymentConfig(
            this.required("settings"),
            this.options.rollbackAlarmNames ?? [],
            this.required("deployTimeoutSeconds"),
          ),
        }),
      );
    }
    return deployment(endpointName, name, serving);
  }

  async status(endpointName: string): Promise<EndpointStatus> {
    const endpoint = await this.describe(endpointName);
    if (endpoint === null) throw new EndpointNotFoundError(endpointName);
    return {
      status: endpoint.EndpointStatus ?? "Unknown",
      endpointConfigName: endpoint.EndpointConfigName ?? null,
      ...(endpoint.FailureReason ? { failureReason: endpoint.FailureReason } : {}),
    };
  }

  async invoke(endpointName: string, request: InvocationRequest): Promise<InvocationResponse> {
    const response = await this.options.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: endpointName,
        ContentType: "application/json",
        Accept: "application/json",
        Body: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    return parseInvocationResponse(new TextDecoder().decode(response.Body ?? new Uint8Array()));
  }

  async rollBack(endpointName: string, endpointConfigName: string): Promise<void> {
    const endpoint = await this.describe(endpointName);
    if (endpoint === null) throw new EndpointNotFoundError(endpointName);
    if (endpoint.EndpointConfigName === endpointConfigName && endpoint.EndpointStatus === "InService") return;
    if (endpoint.EndpointStatus !== "InService")
      throw new EndpointBusyError(endpointName, endpoint.EndpointStatus ?? "");
    await this.options.sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: endpointName,
        EndpointConfigName: endpointConfigName,
        RetainAllVariantProperties: false,
        RetainDeploymentConfig: false,
        DeploymentConfig: ROLLBACK_DEPLOYMENT_CONFIG,
      }),
    );
  }

  async deleteEndpoint(endpointName: string): Promise<void> {
    try {
      await this.options.sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async cleanUp(request: CleanUpRequest): Promise<CleanupResult> {
    const endpoint = await this.describe(request.endpointName);
    const protect = [
      ...request.protect,
      endpoint?.EndpointConfigName,
      endpoint?.PendingDeploymentSummary?.EndpointConfigName,
    ];
    // Our names start with the endpoint name cut for the longest shortId (24); the tag confirms
    // ownership, so another endpoint whose name merely extends ours is never touched.
    const nameFilter = deploymentResourcePrefix(request.endpointName, 24);
    const configs: OwnedResource[] = [];
    for await (const page of paginateListEndpointConfigs(
      { client: this.options.sagemaker },
      { NameContains: nameFilter },
    )) {
      for (const summary of page.EndpointConfigs ?? []) {
        const { EndpointConfigName: name, EndpointConfigArn: arn, CreationTime: createdAt } = summary;
        if (name?.startsWith(nameFilter) && arn && createdAt) configs.push({ name, arn, createdAt });
      }
    }
    const models: OwnedResource[] = [];
    for await (const page of paginateListModels({ client: this.options.sagemaker }, { NameContains: nameFilter })) {
      for (const summary of page.Models ?? []) {
        const { ModelName: name, ModelArn: arn, CreationTime: createdAt } = summary;
        if (name?.startsWith(nameFilter) && arn && createdAt) models.push({ name, arn, createdAt });
      }
    }
    const ownConfigs = await this.ownedBy(request.endpointName, configs);
    const ownModels = await this.ownedBy(request.endpointName, models);
    const plan = planCleanUp(ownConfigs, ownModels, request.keep, protect);
    for (const name of plan.deletedConfigs) {
      await ignoreNotFound(() =>
        this.options.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name })),
      );
    }
    for (const name of plan.deletedModels) {
      await ignoreNotFound(() => this.options.sagemaker.send(new DeleteModelCommand({ ModelName: name })));
    }
    return {
      endpointName: request.endpointName,
      keptEndpointConfigs: plan.keptConfigs,
      deletedEndpointConfigs: plan.deletedConfigs,
      deletedModels: plan.deletedModels,
    };
  }

  private async describe(endpointName: string): Promise<DescribeEndpointCommandOutput | null> {
    try {
      return await this.options.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async ownedBy(endpointName: string, resources: readonly OwnedResource[]): Promise<OwnedResource[]> {
    const owned: OwnedResource[] = [];
    for (const resource of resources) {
      const tags = await this.options.sagemaker.send(new ListTagsCommand({ ResourceArn: resource.arn }));
      if (tags.Tags?.some((tag) => tag.Key === ENDPOINT_TAG && tag.Value === endpointName)) owned.push(resource);
    }
    return owned;
  }

  private async previousConfigOf(endpointConfigName: string): Promise<string | null> {
    const config = await this.options.sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }),
    );
    const tags = await this.options.sagemaker.send(new ListTagsCommand({ ResourceArn: config.EndpointConfigArn }));
    return tags.Tags?.find((tag) => tag.Key === PREVIOUS_CONFIG_TAG)?.Value ?? null;
  }

  private required<
    K extends "endpointName" | "servingImageUri" | "executionRoleArn" | "settings" | "deployTimeoutSeconds",
  >(key: K): NonNullable<SageMakerModelHostOptions[K]> {
    const value = this.options[key];
    if (value === undefined || value === null) {
      throw new DeploymentError(`SageMakerModelHost needs "${key}" to deploy; the start-deployment function sets it`);
    }
    return value as NonNullable<SageMakerModelHostOptions[K]>;
  }
}

interface OwnedResource extends DeploymentResource {
  readonly arn: string;
}

function deployment(endpointName: string, name: string, previous: string | null): EndpointDeployment {
  return { endpointName, endpointConfigName: name, modelName: name, previousEndpointConfigName: previous };
}

/** SageMaker reports a missing resource as a ValidationException whose message says so. */
function isNotFound(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "ResourceNotFound" || /could not find|does not exist|not found/i.test(error.message))
  );
}

async function ignoreNotFound(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A retried Task finds the model or config of its first attempt: that is success, not a conflict. */
async function ignoreAlreadyExists(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof Error && /already exist/i.test(error.message))) throw error;
  }
}
