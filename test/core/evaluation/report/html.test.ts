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

  it("answers whether the model should ship: best baseline, slices with counts, examples, drift, hyper-parameters", async () => {
    // Prepare
    const summary = await reportSummary();

    // Act
    const html = await renderReportHtml(summary, reportMetadata);

    // Assess: the line on the best baseline.
    expect(html).toMatch(
      /id="baseline-verdict">The model (beats the best baseline, \w+|does not beat the best baseline)/,
    );
    // Every slice bucket with its points and a Wilson interval.
    for (const row of summary.slices) expect(html).toContain(`${row.bucket} (n=${row.points})`);
    expect(html.match(/<table class="slices"/g)?.length).toBe(new Set(summary.slices.map((row) => row.slice)).size);
    // Worked examples: each a hit at its rank or a miss, the next item marked when it is in the list.
    const examples = summary.examples ?? [];
    expect(examples.length).toBe(5);
    for (const example of examples) {
      expect(
        example.rank === null
          ? !example.recommendations.includes(example.target)
          : example.recommendations[example.rank - 1] === example.target,
      ).toBe(true);
      expect(html).toContain(example.rank === null ? "miss" : `hit at ${example.rank}`);
    }
    // Data profile against the previous run, with the change flagged where it is large.
    expect(summary.drift?.previousRunId).toBe("r-previous");
    expect(html).toContain("against run <code>r-previous</code>");
    expect(html).toMatch(/<th>sessions per day<\/th><td>720\.0<\/td><td>360\.0<\/td><td>\+100\.0% ⚠<\/td>/);
    // Hyper-parameters as a table, with what each means and the blend kept.
    expect(html).toContain("<tr><th><code>embeddingDim</code></th><td>32</td><td>item embedding size</td></tr>");
    expect(html).toContain("<th>kNN weight</th><td>0.30</td>");
    expect(html).not.toContain('"embeddingDim":32');
  });

  it("says plainly when the model does not beat the best baseline", async () => {
    const summary = await reportSummary();
    const weaker = {
      ...summary,
      challenger: { ...summary.challenger, metrics: { ...summary.challenger.metrics, "hr@20": 0.01 } },
    };
    const html = await renderReportHtml(weaker, reportMetadata);
    expect(html).toMatch(
      /The model does not beat the best baseline: hr@20 0\.0100 against \w+ 0\.\d{4} \(mrr@20: 0\.\d{4} against 0\.\d{4}\)/,
    );
  });

  it("draws the gate's margin on the champion chart and the model kept on the training curve", async () => {
    const html = await renderReportHtml(await reportSummary(), reportMetadata);
    // The champion check `mrr@20 >= champion - 0.01`: one tick at −0.01 on the difference chart.
    expect(html.match(/aria-roledescription="tick"/g)?.length).toBe(1);
    // The kept model (GRU + kNN): one diamond per metric at the kept epoch.
    expect(html.match(/aria-label="epoch: 3; value: 0\.6[^"]*"/g)?.length).toBeGreaterThanOrEqual(1);
  });
});
