import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  type SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import type { EvaluationResult, RegistrationResult, ServedModelCheckResult, TrainedOn } from "../pipeline/contracts.ts";
import type { RunContext } from "../pipeline/run-context.ts";
import { RegistrationError } from "./errors.ts";
import { metadataValue, toTags } from "./names.ts";

export type ApprovalStatus = RegistrationResult["approvalStatus"];

/** What a model version is registered with: the run, its evaluation and the artifacts' URIs. */
export interface ModelVersionRequest {
  readonly run: RunContext;
  readonly evaluation: EvaluationResult;
  /**
   * Both models of the run and what each learned from ("Check the served model against the
   * evaluated one"): the version's artifact is the served model, its figures the evaluated one's.
   */
  readonly servedModelCheck?: ServedModelCheckResult;
}

/** `train+test 2014-04-01/2014-04-07 41230 sessions`: readable in the console's metadata table. */
export function describeTrainedOn(trainedOn: TrainedOn): string {
  return `${trainedOn.splits.join("+")} ${trainedOn.firstDay ?? "?"}/${trainedOn.lastDay ?? "?"} ${trainedOn.sessions} sessions`;
}

export interface ModelRegistry {
  registerModelVersion(request: ModelVersionRequest): Promise<RegistrationResult>;
}

export interface ApprovalDecision {
  readonly status: ApprovalStatus;
  /** One sentence, recorded on the model version. */
  readonly reason: string;
}

/**
 * The registry's verdict follows the execution's deploy mode: `auto` lets the gate decide, `force`
 * approves whatever the gate said and records why, `skip` leaves a passing model for a person to
 * approve (a failing one is still rejected).
 */
export function approvalDecision(run: RunContext, evaluation: EvaluationResult): ApprovalDecision {
  const gate = evaluation.passed
    ? "the quality gate passed"
    : `the quality gate failed (${evaluation.reasons.join("; ") || "no reason given"})`;
  if (run.deploy === "force") {
    return {
      status: "Approved",
      reason: `Deployment forced by the execution (${gate}); reason given: ${run.reason ?? "none"}`,
    };
  }
  if (!evaluation.passed) return { status: "Rejected", reason: `Rejected: ${gate}` };
  if (run.deploy === "skip") {
    return {
      status: "PendingManualApproval",
      reason: "The quality gate passed; deploy=skip leaves approval to a person",
    };
  }
  return { status: "Approved", reason: "Approved: the quality gate passed" };
}

/** The customer metadata every registered version carries, whatever the registry. */
export function versionMetadata(request: ModelVersionRequest, decision: ApprovalDecision): Record<string, string> {
  const { run, evaluation } = request;
  return {
    RunId: metadataValue(run.runId),
    ExecutionName: metadataValue(run.executionName),
    Trigger: metadataValue(run.trigger),
    Window: metadataValue(`${run.window.start}/${run.window.end}`),
    Tenant: metadataValue(run.tenant),
    DeployMode: run.deploy,
    GatePassed: String(evaluation.passed),
    ApprovalReason: metadataValue(decision.reason),
    ReportUri: metadataValue(evaluation.reportUri),
    MetricsUri: metadataValue(evaluation.metricsUri),
    ModelUri: metadataValue(run.uris.model),
    EvaluatedModelUri: metadataValue(run.uris.evaluatedModel),
    ...(request.servedModelCheck
      ? {
          ServedModelTrainedOn: metadataValue(describeTrainedOn(request.servedModelCheck.served.trainedOn)),
          EvaluatedModelTrainedOn: metadataValue(describeTrainedOn(request.servedModelCheck.evaluated.trainedOn)),
          ServedModelValidationHr20: request.servedModelCheck.served["hr@20"].toFixed(4),
          EvaluatedModelValidationHr20: request.servedModelCheck.evaluated["hr@20"].toFixed(4),
        }
      : {}),
  };
}

export interface SageMakerModelRegistryOptions {
  readonly sagemaker: SageMakerClient;
  /** One Model Package Group per project (`PMS_MODEL_PACKAGE_GROUP`). */
  readonly modelPackageGroupName: string;
  readonly servingImageUri: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * SageMaker Model Registry: each trained model becomes a version of the project's Model Package
 * Group, with its metrics.json as model-quality statistics, the report and the approval reason in
 * customer metadata.
 */
export class SageMakerModelRegistry implements ModelRegistry {
  constructor(private readonly options: SageMakerModelRegistryOptions) {}

  async registerModelVersion(request: ModelVersionRequest): Promise<RegistrationResult> {
    const { run, evaluation } = request;
    const decision = approvalDecision(run, evaluation);
    const tags = toTags({ ...this.options.tags, "pms:run-id": run.runId });
    await this.ensureGroup(tags);
    try {
      const created = await this.options.sagemaker.send(
        new CreateModelPackageCommand({
          ModelPackageGroupName: this.options.modelPackageGroupName,
          ModelPackageDescription:
            `Run ${run.runId} (${run.window.start}..${run.window.end}). ${decision.reason}`.slice(0, 1024),
          InferenceSpecification: {
            Containers: [{ Image: this.options.servingImageUri, ModelDataUrl: run.uris.model }],
            SupportedContentTypes: ["application/json"],
            SupportedResponseMIMETypes: ["application/json"],
          },
          ModelApprovalStatus: decision.status,
          ModelMetrics: {
            ModelQuality: { Statistics: { ContentType: "application/json", S3Uri: evaluation.metricsUri } },
          },
          CustomerMetadataProperties: versionMetadata(request, decision),
          // Idempotent across Task retries: one version per run.
          ClientToken: run.shortId,
          Tags: tags,
        }),
      );
      if (!created.ModelPackageArn) throw new RegistrationError("CreateModelPackage returned no ModelPackageArn");
      return { modelPackageArn: created.ModelPackageArn, approvalStatus: decision.status };
    } catch (error) {
      if (error instanceof RegistrationError) throw error;
      throw new RegistrationError(
        `Registering run ${run.runId} in model package group ${this.options.modelPackageGroupName} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  private async ensureGroup(tags: ReturnType<typeof toTags>): Promise<void> {
    const name = this.options.modelPackageGroupName;
    try {
      await this.options.sagemaker.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }));
      return;
    } catch (error) {
      if (!(error instanceof Error && /does not exist|not found|could not find/i.test(error.message))) throw error;
    }
    try {
      await this.options.sagemaker.send(
        new CreateModelPackageGroupCommand({
          ModelPackageGroupName: name,
          ModelPackageGroupDescription: "post-modern-stack: one version per trained session recommender",
          Tags: tags,
        }),
      );
    } catch (error) {
      // Two executions registering at once: the other one created it.
      if (!(error instanceof Error && /already exist/i.test(error.message))) throw error;
    }
  }
}
