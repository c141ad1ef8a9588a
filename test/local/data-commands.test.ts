import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataFileNotFoundError, loadCommand, warehouseEventDays } from "../../local/data-commands.ts";
import { pmsHomeAt } from "../../local/home.ts";
import { createRecordingReporter } from "../../local/progress.ts";

describe("pms data load", () => {
  it("names a missing file plainly, before touching the warehouse", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-data-")));
    const missing = join(home.root, "browsing_train.csv");
    const load = loadCommand({
      home,
      file: missing,
      format: "coveo",
      tenant: "shop-a",
      onBadRow: "abort",
      reporter: createRecordingReporter(),
    });
    await expect(load).rejects.toBeInstanceOf(DataFileNotFoundError);
    await expect(load).rejects.toThrow(`No file at ${missing}: check the path.`);
    expect(existsSync(home.warehouse)).toBe(false);
  });

  it("loads a click log into $PMS_HOME's warehouse under the tenant, and reports bad rows it skipped", async () => {
    // Prepare: five clicks over two days, one with an unreadable time.
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-data-")));
    const file = join(home.root, "clicks.tsv");
    const day1 = Date.parse("2014-04-01T10:00:00Z") / 1000;
    const day2 = Date.parse("2014-04-02T10:00:00Z") / 1000;
    await writeFile(
      file,
      [
        "SessionId\tItemId\tTime",
        `1\t100\t${day1}`,
        `1\t101\t${day1 + 30}`,
        `2\t100\t${day2}`,
        "2\t102\tyesterday",
        `2\t103\t${day2 + 5}`,
      ].join("\n"),
    );
    const reporter = createRecordingReporter();
    // Act
    const result = await loadCommand({ home, file, format: "rsc15", tenant: "shop-a", onBadRow: "skip", reporter });
    // Assess
    expect(result.rows).toBe(4);
    expect(result.badRows).toBe(1);
    expect(reporter.events.some((line) => /line 5: .*yesterday/.test(line))).toBe(true);
    expect(await warehouseEventDays(home, "shop-a")).toEqual({ first: "2014-04-01", last: "2014-04-02", events: 4 });
    expect(await warehouseEventDays(home, "another-shop")).toBeUndefined();
  });
});
