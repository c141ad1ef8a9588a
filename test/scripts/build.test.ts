import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The prebuilt CLI and training entry point (`npm run build`), built into a scratch folder beside dist/. */
describe("npm run build", () => {
  let outdir: string;

  beforeAll(async () => {
    // One level below the repository root, like dist/: the bundle finds cdk.json and package.json at ../
    outdir = await mkdtemp(join(REPO, "dist-test-"));
    await run(process.execPath, [join(REPO, "scripts/build.mjs"), outdir], { cwd: REPO });
  }, 60_000);
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it("writes the CLI and the training image's entry point, and lists the sources that went in", async () => {
    expect(existsSync(join(outdir, "pms.mjs"))).toBe(true);
    expect(existsSync(join(outdir, "main.mjs"))).toBe(true);
    const info = JSON.parse(await readFile(join(outdir, "build-info.json"), "utf8")) as {
      builtAt: number;
      inputs: string[];
    };
    expect(info.inputs).toEqual(expect.arrayContaining(["bin/pms.ts", "local/cli.ts", "training-image/src/main.ts"]));
    expect(info.inputs.some((input) => input.startsWith("node_modules/"))).toBe(false);
  });

  it("runs as plain JavaScript: help with the exit codes, the version, and a lazily loaded command", async () => {
    const help = await run(process.execPath, [join(outdir, "pms.mjs"), "--help"]);
    expect(help.stdout).toContain("Exit codes:");
    const version = await run(process.execPath, [join(outdir, "pms.mjs"), "--version"]);
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    const scratch = await mkdtemp(join(outdir, "out-"));
    const generated = await run(
      process.execPath,
      [join(outdir, "pms.mjs"), "data", "generate", "--events", "1000", "--out", join(scratch, "events.csv")],
      { env: { ...process.env, CI: "1" } },
    );
    expect(generated.stderr).toContain(`Wrote 1,000 events`);
    const serveHelp = await run(process.execPath, [join(outdir, "main.mjs"), "serve", "--help"]);
    expect(serveHelp.stdout).toContain("--model");
  });
});
