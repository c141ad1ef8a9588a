import { describe, expect, it } from "vitest";
import { renderReportHtml } from "../../../../core/evaluation/report/html.ts";
import { reportMetadata, reportSummary } from "./report-fixture.ts";

describe("renderReportHtml", () => {
  it("lists every gate check and behavioural test with its verdict, and escapes what it prints", async () => {
    const summary = await reportSummary();
    const html = await renderReportHtml(summary, reportMetadata);
    for (const check of summary.gate.checks) expect(html).toContain(`<code>${check.name.replace(">", "&gt;")}</code>`);
    for (const test of summary.behavioural) expect(html).toContain(`<b>${test.name}</b>`);
    // coverage@20 >= 0.9 fails: co-occurrence recommends fewer than 90% of the items? The verdict follows the gate.
    const failed = summary.gate.checks.filter((check) => !check.passed).length;
    expect(html.match(/<span class="fail">fail<\/span>/g)?.length ?? 0).toBe(failed);
    expect(html).toContain(summary.gate.passed ? "Quality gate passed" : "Quality gate failed");
    expect(html).toContain("exec-&lt;report&gt;");
    expect(html).not.toContain("exec-<report>");
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|@import|url\(http/);
  });

  it("says so when there are no training curves", async () => {
    const { trainingMetrics: _ignored, ...withoutCurves } = reportMetadata;
    const html = await renderReportHtml(await reportSummary(), withoutCurves);
    expect(html).toContain("No training-metrics.json was found");
  });
});
