import type { ArtifactStore } from "../../ports/artifact-store.ts";
import type { EvaluationSummary } from "../suite.ts";
import { type ReportMetadata, renderReportHtml } from "./html.ts";

export type { ReportMetadata } from "./html.ts";
export { renderReportHtml } from "./html.ts";

/** `metrics.json`: the summary with the run's identity; a champion's stored metrics are read back from it. */
export function metricsDocument(summary: EvaluationSummary, metadata: ReportMetadata) {
  return {
    runId: metadata.runId,
    executionName: metadata.executionName,
    generatedAt: metadata.generatedAt,
    modelUri: metadata.modelUri,
    servedModelUri: metadata.servedModelUri ?? null,
    backend: metadata.backend ?? null,
    dataManifestHash: metadata.manifest?.contentHash ?? null,
    ...summary,
  };
}

/**
 * Writes `metrics.json`, then `report.html` (each put is atomic in every store); the report goes
 * last so that a reader who finds it also finds its figures.
 */
export async function writeReport(
  store: ArtifactStore,
  uris: { readonly report: string; readonly metrics: string },
  summary: EvaluationSummary,
  metadata: ReportMetadata,
): Promise<void> {
  const html = await renderReportHtml(summary, metadata);
  await store.put(uris.metrics, `${JSON.stringify(metricsDocument(summary, metadata), null, 2)}\n`, {
    contentType: "application/json",
  });
  await store.put(uris.report, html, { contentType: "text/html; charset=utf-8" });
}
