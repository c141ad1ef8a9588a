import type { RegistrationResult } from "../pipeline/contracts.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import { approvalDecision, type ModelRegistry, type ModelVersionRequest, versionMetadata } from "./registry.ts";

export interface RegisteredVersion {
  readonly modelPackageArn: string;
  readonly version: number;
  readonly approvalStatus: RegistrationResult["approvalStatus"];
  /** The served model: the artifact deployed. */
  readonly modelUri: string;
  /** The evaluated model, trained without the test span: the one the metrics are of. */
  readonly evaluatedModelUri?: string;
  readonly metricsUri: string;
  readonly reportUri: string;
  readonly metadata: Record<string, string>;
  readonly createdAt: string;
}

/**
 * The local twin's model registry: the same approval rules and metadata as SageMaker's, kept as one
 * JSON document per model package group (`<root>/registry/<group>.json`). The store writes it
 * atomically, so a crash never leaves half a registry.
 */
export class FileModelRegistry implements ModelRegistry {
  constructor(
    private readonly store: ArtifactStore,
    private readonly root: string,
    private readonly groupName: string,
  ) {}

  get uri(): string {
    return `${this.root.replace(/\/+$/, "")}/registry/${this.groupName}.json`;
  }

  async versions(): Promise<RegisteredVersion[]> {
    if (!(await this.store.exists(this.uri))) return [];
    return JSON.parse(await this.store.getText(this.uri)) as RegisteredVersion[];
  }

  async registerModelVersion(request: ModelVersionRequest): Promise<RegistrationResult> {
    const decision = approvalDecision(request.run, request.evaluation);
    const versions = await this.versions();
    const existing = versions.find((version) => version.metadata.RunId === request.run.runId);
    if (existing) return { modelPackageArn: existing.modelPackageArn, approvalStatus: existing.approvalStatus };
    const version = versions.length + 1;
    const registered: RegisteredVersion = {
      modelPackageArn: `pms-local:model-package/${this.groupName}/${version}`,
      version,
      approvalStatus: decision.status,
      modelUri: request.run.uris.model,
      evaluatedModelUri: request.run.uris.evaluatedModel,
      metricsUri: request.evaluation.metricsUri,
      reportUri: request.evaluation.reportUri,
      metadata: versionMetadata(request, decision),
      createdAt: new Date().toISOString(),
    };
    await this.store.put(this.uri, `${JSON.stringify([...versions, registered], null, 2)}\n`, {
      contentType: "application/json",
    });
    return { modelPackageArn: registered.modelPackageArn, approvalStatus: registered.approvalStatus };
  }

  /**
   * Rejects the version a run registered, when the run was stopped before its model was verified:
   * an Approved version must be one that served after a passed smoke test. Returns the version, if any.
   */
  async rejectRunVersion(runId: string, reason: string): Promise<RegisteredVersion | undefined> {
    const versions = await this.versions();
    const index = versions.findIndex((version) => version.metadata.RunId === runId);
    const found = versions[index];
    if (!found || found.approvalStatus === "Rejected") return found;
    const rejected: RegisteredVersion = {
      ...found,
      approvalStatus: "Rejected",
      metadata: { ...found.metadata, RejectedBecause: reason },
    };
    await this.store.put(this.uri, `${JSON.stringify(versions.with(index, rejected), null, 2)}\n`, {
      contentType: "application/json",
    });
    return rejected;
  }
}
