import type { CleanupResult } from "../pipeline/contracts.ts";

export interface CleanUpRequest {
  readonly endpointName: string;
  /** How many of the newest deployments to keep, on top of the serving one and the one before it. */
  readonly keep: number;
  /** Configs that must survive whatever their age: the serving one, the one before it, a pending one. */
  readonly protect: readonly (string | null | undefined)[];
}

/** Hosts that accumulate per-deployment resources implement this; "Clean up old deployments" calls it. */
export interface DeploymentCleaner {
  cleanUp(request: CleanUpRequest): Promise<CleanupResult>;
}

export interface DeploymentResource {
  readonly name: string;
  readonly createdAt: Date;
}

export interface CleanUpPlan {
  readonly keptConfigs: string[];
  readonly deletedConfigs: string[];
  readonly deletedModels: string[];
}

/**
 * Which deployment resources go. Configs: all but the `keep` newest and the protected ones. Models
 * (a deployment's model has its config's name): those whose config is not kept — but never a model
 * newer than the newest kept config, because that is a run deploying right now whose config does
 * not exist yet.
 */
export function planCleanUp(
  configs: readonly DeploymentResource[],
  models: readonly DeploymentResource[],
  keep: number,
  protect: readonly (string | null | undefined)[],
): CleanUpPlan {
  const protectedNames = new Set(protect.filter((name): name is string => typeof name === "string"));
  const newestFirst = [...configs].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const kept = newestFirst.filter((config, index) => index < keep || protectedNames.has(config.name));
  const keptNames = new Set(kept.map((config) => config.name));
  const newestKept = Math.max(...kept.map((config) => config.createdAt.getTime()));
  return {
    keptConfigs: kept.map((config) => config.name),
    deletedConfigs: newestFirst.filter((config) => !keptNames.has(config.name)).map((config) => config.name),
    deletedModels: [...models]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .filter(
        (model) =>
          !keptNames.has(model.name) && !protectedNames.has(model.name) && model.createdAt.getTime() < newestKept,
      )
      .map((model) => model.name),
  };
}
