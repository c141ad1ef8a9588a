import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pmsHomeAt } from "../../local/home.ts";
import { type LocalRunRecord, writeRunRecord } from "../../local/run-record.ts";
import { writeRunsReport } from "../../local/runs-report.ts";

const run = (id: string, startedAt: string, hr: number, champion: boolean): LocalRunRecord => ({
  runId: id,
  executionName: id,
  status: "succeeded",
  startedAt,
  input: {},
  stages: [],
  reportUri: `/tmp/pms/runs/${id}/report/report.html`,
  metrics: { "hr@20": hr, "mrr@20": hr / 2 },
  deployed: true,
  gate: {
    passed: true,
    reasons: [],
    checks: [
      { name: "hr@20 >= popularity + 0.02", value: hr, threshold: 0.3, passed: true, detail: "" },
      {
        name: "mrr@20 >= champion - 0.01",
        value: hr / 2,
        threshold: champion ? hr / 2 - 0.01 : 0,
        passed: true,
        detail: champion ? "challenger − champion +0.0000" : "no champion is serving (no model is serving yet): passes",
      },
    ],
  },
});

describe("pms report --runs", () => {
  it("writes one offline page: each gate check's value and threshold across runs, and every run with its report", async () => {
    // Prepare
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-runs-page-")));
    await writeRunRecord(home, run("r-1", "2026-12-01T10:00:00.000Z", 0.61, false));
    await writeRunRecord(home, run("r-2", "2026-12-02T10:00:00.000Z", 0.66, true));
    await writeRunRecord(home, {
      ...run("r-3", "2026-12-03T10:00:00.000Z", 0, true),
      status: "failed",
      gate: undefined,
      metrics: undefined,
      reportUri: undefined,
      error: { name: "InsufficientData", cause: "" },
    });

    // Act
    const written = await writeRunsReport(home);
    const html = await readFile(written.path, "utf8");

    // Assess
    expect(written).toEqual({ path: join(home.root, "runs.html"), runs: 3 });
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|url\(http/);
    // One chart row per check; the hr check has a value and a threshold line, each over two runs.
    expect(html).toContain("hr@20 &gt;= popularity + 0.02");
    expect(html).toContain("mrr@20 &gt;= champion - 0.01");
    const points = html.match(/aria-roledescription="point"/g)?.length ?? 0;
    // hr: 2 values + 2 thresholds; mrr: 2 values + 1 threshold (none without a champion).
    expect(points).toBe(7);
    expect(html.match(/<tr><td><code>r-\d<\/code>/g)).toEqual(
      ["<tr><td><code>r-3</code>", "<tr><td><code>r-2</code>", "<tr><td><code>r-1</code>"].map((row) => row),
    );
    expect(html).toContain('<a href="file:///tmp/pms/runs/r-2/report/report.html">report</a>');
    expect(html).toContain("failed <small>InsufficientData</small>");
  });
});
