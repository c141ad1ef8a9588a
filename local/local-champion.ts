import { type Champion, type ChampionSource, metricsFromMetricsJson } from "../core/evaluation/champion.ts";
import { runArtifactUris } from "../core/pipeline/run-context.ts";
import type { ArtifactStore } from "../core/ports/artifact-store.ts";
import { readEndpointState } from "./model-host.ts";

/**
 * The local twin's champion: the model the local endpoint serves now (`endpoint.json`), re-scored
 * by Evaluate from its artifact, with the metrics its own run recorded as the fallback.
 */
export class LocalEndpointChampionSource implements ChampionSource {
  constructor(
    private readonly home: string,
    private readonly store: ArtifactStore,
  ) {}

  async findChampion(): Promise<Champion | undefined> {
    const endpoint = await readEndpointState(this.home);
    const serving = endpoint?.status === "InService" ? endpoint.current : null;
    if (!endpoint || !serving) return undefined;
    let storedMetrics: Record<string, number> | undefined;
    try {
      storedMetrics = metricsFromMetricsJson(
        await this.store.getText(runArtifactUris(this.home, serving.runId).metrics),
      );
    } catch {
      // A model deployed by hand (`pms serve --model`) has no run metrics; Evaluate re-scores it anyway.
    }
    return {
      modelUri: serving.modelUri,
      ...(storedMetrics ? { storedMetrics } : {}),
      description: `local endpoint ${endpoint.endpointName} → ${serving.endpointConfigName} (run ${serving.runId}, ${serving.modelUri})`,
    };
  }
}
