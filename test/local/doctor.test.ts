import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCommand } from "../../local/data-commands.ts";
import { formatDoctor, runDoctor } from "../../local/doctor.ts";
import { pmsHomeAt } from "../../local/home.ts";
import { freePort } from "../../local/model-host.ts";
import { createRecordingReporter } from "../../local/progress.ts";

describe("pms doctor", () => {
  it("fails an old Node.js and warns about a missing Chromium, a busy port, no AWS and an empty warehouse", async () => {
    // Prepare: a port in use and an empty PMS_HOME.
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-doctor-")));
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, "127.0.0.1", resolve));
    try {
      // Act
      const checks = await runDoctor({
        home,
        tenant: "demo-shop",
        env: {},
        nodeVersion: "18.19.0",
        port,
        chromiumPath: join(home.root, "no-chromium"),
        aws: async () => ({}),
      });
      // Assess
      const byName = Object.fromEntries(checks.map((check) => [check.name, check]));
      expect(byName["Node.js"]).toMatchObject({
        level: "fail",
        detail: expect.stringContaining("Node.js 20 or later"),
      });
      expect(byName.Chromium).toMatchObject({
        level: "warn",
        detail: expect.stringContaining("apt-get install chromium"),
      });
      expect(byName["Endpoint port"]).toMatchObject({
        level: "warn",
        detail: expect.stringContaining(`${port} is in use`),
      });
      expect(byName.AWS).toMatchObject({ level: "warn", detail: expect.stringContaining("no credentials") });
      expect(byName.Warehouse).toMatchObject({ level: "warn", detail: expect.stringContaining("pms data generate") });
      expect(formatDoctor(checks).split("\n")[0]).toMatch(/^✖ Node\.js/);
    } finally {
      busy.close();
    }
  });

  it("reports the warehouse's range and catalogue, and where AWS credentials come from without their values", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-doctor-")));
    await generateCommand({
      home,
      events: 2000,
      days: 3,
      tenant: "demo-shop",
      catalog: true,
      reporter: createRecordingReporter(),
    });
    const checks = await runDoctor({
      home,
      tenant: "demo-shop",
      env: {},
      nodeVersion: "20.11.0",
      port: await freePort(),
      aws: async () => ({ region: "eu-west-1", credentialsSource: "CREDENTIALS_ENV_VARS" }),
    });
    const byName = Object.fromEntries(checks.map((check) => [check.name, check]));
    expect(byName["Node.js"]?.level).toBe("ok");
    expect(byName.Warehouse).toMatchObject({
      level: "ok",
      detail: expect.stringMatching(/2,000 events for tenant demo-shop, 2024-01-01\.\.2024-01-03; [\d,]+ products/),
    });
    expect(byName.AWS).toMatchObject({
      level: "ok",
      detail: "credentials from CREDENTIALS_ENV_VARS; region eu-west-1",
    });
  });
});
