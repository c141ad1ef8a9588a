import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCommand } from "../../local/data-commands.ts";
import { chooseLocalWindow, insufficientDataHint } from "../../local/default-window.ts";
import { pmsHomeAt } from "../../local/home.ts";
import { createRecordingReporter } from "../../local/progress.ts";

async function homeWithSample(days: number) {
  const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-window-")));
  await generateCommand({ home, events: 3000, days, tenant: "demo-shop", reporter: createRecordingReporter() });
  return home;
}

describe("a local run's window when the input has none", () => {
  it("takes the data's latest 7 full days when the nightly window is empty, and says which and how to choose", async () => {
    const home = await homeWithSample(14);
    const choice = await chooseLocalWindow(home, {
      tenant: "demo-shop",
      lookbackDays: 7,
      now: new Date("2026-12-07T10:00:00Z"),
    });
    expect(choice?.window).toEqual({ start: "2024-01-08", end: "2024-01-14" });
    expect(choice?.note).toContain("nightly window 2026-11-30..2026-12-06");
    expect(choice?.note).toContain("the warehouse holds 2024-01-01..2024-01-14");
    expect(choice?.note).toContain(`--input '{"window":{"start":"2024-01-08","end":"2024-01-14"}}'`);
  });

  it("keeps the nightly window when it holds data, and when the warehouse holds none", async () => {
    const home = await homeWithSample(14);
    const now = new Date("2024-01-10T03:00:00Z");
    expect(await chooseLocalWindow(home, { tenant: "demo-shop", lookbackDays: 7, now })).toBeUndefined();
    expect(await chooseLocalWindow(home, { tenant: "other-shop", lookbackDays: 7, now })).toBeUndefined();
  });

  it("after InsufficientData, gives the warehouse's range and the exact --input, or says the data is too small", async () => {
    const home = await homeWithSample(14);
    const hint = await insufficientDataHint(home, {
      tenant: "demo-shop",
      input: { deploy: "skip" },
      window: { start: "2026-11-30", end: "2026-12-06" },
    });
    expect(hint).toContain("3,000 events for tenant demo-shop, 2024-01-01..2024-01-14");
    expect(hint).toContain(`pms run --input '{"deploy":"skip","window":{"start":"2024-01-08","end":"2024-01-14"}}'`);
    const tooSmall = await insufficientDataHint(home, {
      tenant: "demo-shop",
      input: {},
      window: { start: "2024-01-01", end: "2024-01-14" },
    });
    expect(tooSmall).toContain("too small for minSessions");
    expect(await insufficientDataHint(home, { tenant: "nobody", input: {} })).toContain(
      "holds no events for tenant nobody",
    );
  });
});
