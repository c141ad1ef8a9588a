import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../../core/artifacts/filesystem.ts";
import { writeReport } from "../../../../core/evaluation/report/index.ts";
import { reportMetadata, reportSummary } from "./report-fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`Skipping the report browser test: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

describe("the evaluation report in headless Chromium", () => {
  it.skipIf(!hasChromium)("opens offline and shows every chart with marks", async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), "pms-report-"));
    const uris = { report: join(folder, "report.html"), metrics: join(folder, "metrics.json") };
    const summary = await reportSummary();
    await writeReport(new FileSystemArtifactStore(), uris, summary, reportMetadata);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      const failures: string[] = [];
      const errors: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      page.on("requestfailed", (request) => failures.push(request.url()));
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });

      // Act
      await page.goto(pathToFileURL(uris.report).href, { waitUntil: "load" });
      await page.screenshot({ path: join(folder, "report.png"), fullPage: true });

      // Assess: the page fetched nothing but itself.
      expect(failures).toEqual([]);
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(uris.report).href]);
      // Comparison, champion difference, three slices, training curves.
      const charts = page.locator("figure.chart svg.marks");
      expect(await charts.count()).toBe(6);
      for (let index = 0; index < 6; index++) {
        const chart = charts.nth(index);
        const box = await chart.boundingBox();
        expect(box?.width).toBeGreaterThan(100);
        expect(box?.height).toBeGreaterThan(80);
        expect(
          await chart.locator("g.mark-rect path, g.mark-line path, g.mark-symbol path, g.mark-rule line").count(),
        ).toBeGreaterThan(0);
      }
      // Bars of the comparison chart: 3 metrics × 5 recommenders.
      expect(await charts.nth(0).locator('path[aria-roledescription="bar"]').count()).toBe(15);
      expect(await charts.nth(0).locator('[aria-roledescription="errorbar"]').count()).toBe(15);
      const rows = page.locator("table.tests tbody tr");
      expect(await rows.count()).toBe(summary.gate.checks.length + summary.behavioural.length);
      await expect(page.locator(".banner").textContent()).resolves.toMatch(/Quality gate (passed|failed)/);
      // Should it ship: the line on the best baseline, under the gate's banner.
      await expect(page.locator("#baseline-verdict").textContent()).resolves.toMatch(
        /The model (beats|does not beat) the best baseline/,
      );
      // The champion chart draws the gate's margin (one champion check in the fixture's gate).
      expect(await charts.nth(1).locator('[aria-roledescription="tick"]').count()).toBe(1);
      // Slices: a table per slice, each bucket with its points and a Wilson interval.
      const sliceTables = page.locator("table.slices");
      expect(await sliceTables.count()).toBe(new Set(summary.slices.map((row) => row.slice)).size);
      expect(await page.locator("table.slices tbody tr").count()).toBe(summary.slices.length);
      // Worked examples, the data profile against the previous run, the hyper-parameter table.
      const sections = await page.locator("section h2").allTextContents();
      expect(sections).toEqual(
        expect.arrayContaining(["Worked examples", "Data profile and drift", "Hyper-parameters"]),
      );
      expect(await page.locator("table.examples tbody tr").count()).toBe(summary.examples?.length ?? 0);
      expect(await page.locator("table.profile tbody tr").count()).toBe(6);
      await expect(page.locator("table.profile").textContent()).resolves.toContain("sessions per day");
      expect(await page.locator("table.hyperparameters tbody tr").count()).toBeGreaterThanOrEqual(11);
    } finally {
      await browser.close();
    }
  });
});
