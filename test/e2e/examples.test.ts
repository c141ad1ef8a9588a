import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../local/cli.ts";
import { freePort } from "../../local/model-host.ts";

/**
 * Every example a newcomer reads — each `Examples:` line of every `pms … --help`, and the commands of
 * README.md's quick start — run as written, through a shell, by the real `pms` bin. What the test
 * supplies is what the text assumes the reader has: a click log where README says
 * `path/to/yoochoose-clicks.txt`, free ports where the text says 8080 or 9090 (other programs may hold
 * them), and small data (a 20,000-event sample, itself one of the examples) so every run trains in
 * seconds.
 */

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLE_TIMEOUT_MS = 240_000;

interface Example {
  readonly source: string;
  readonly line: string;
}

function helpTexts(): Map<string, string> {
  const texts = new Map<string, string>();
  const visit = (command: Command, path: string[]) => {
    for (const sub of command.commands) {
      const subPath = [...path, sub.name()];
      let text = "";
      const capture = (item: Command) => {
        item.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
      };
      capture(sub);
      sub.outputHelp();
      texts.set(subPath.join(" "), text);
      visit(sub, subPath);
    }
  };
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  visit(buildProgram({ stdout: () => undefined, stderr: sink, env: {} }), []);
  return texts;
}

/** The `pms …` lines under an "Example:" / "Examples:" heading of each help text. */
function helpExamples(): Example[] {
  const examples: Example[] = [];
  for (const [command, text] of helpTexts()) {
    const section = text.split(/\nExamples?(?: \([^)]*\))?:\n/)[1];
    if (!section) continue;
    for (const line of section.split("\n")) {
      if (!/^ {2}pms /.test(line)) break;
      examples.push({ source: `pms ${command} --help`, line: line.trim() });
    }
  }
  return examples;
}

/** The commands in README.md's quick start code blocks (not `npm install`/`npm test`: this test runs inside them). */
async function readmeExamples(): Promise<Example[]> {
  const readme = await readFile(join(REPO, "README.md"), "utf8");
  const quickStart = readme.split("\n## Quick start")[1]?.split("\n## ")[0] ?? "";
  const blocks = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  const examples: Example[] = [];
  for (const block of blocks) {
    const joined = block.replace(/\\\n\s*/g, "");
    for (const raw of joined.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      for (const command of line.split("&&").map((part) => part.trim())) {
        if (command === "" || command === "npm install" || command === "npm test") continue;
        examples.push({ source: "README.md quick start", line: command });
      }
    }
  }
  return examples;
}

let work: string;
let shimBin: string;
const endpointHomes: { home: string; port: number }[] = [];

async function sh(line: string, options: { home: string; port: number; cwd?: string }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "bash",
      ["-c", line],
      {
        cwd: options.cwd ?? work,
        env: {
          ...process.env,
          PATH: `${shimBin}:${process.env.PATH}`,
          PMS_HOME: options.home,
          PMS_PORT: String(options.port),
          CI: "1",
        },
        timeout: EXAMPLE_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function newHome(name: string): Promise<{ home: string; port: number }> {
  const home = join(work, name);
  await mkdir(home, { recursive: true });
  // One synthesis of the state machine for all the homes: the definition cache is keyed by the sources.
  const seeded = join(work, "seed-cache");
  await cp(seeded, join(home, "cache"), { recursive: true }).catch(() => undefined);
  const entry = { home, port: await freePort() };
  endpointHomes.push(entry);
  return entry;
}

/**
 * The click log README names: the RecSys 2015 sample (70,278 clicks over 2014-04-01..07, prepared by
 * session-rec), kept whole in test/fixtures, because README's example asks its default gate to beat
 * V-SkNN on that log, and a synthetic stand-in does not behave like it.
 */
const CLICK_LOG = join(REPO, "test/fixtures/yoochoose-clicks-100k.tsv");

function expectSucceeded(example: Example, result: { code: number; stdout: string; stderr: string }) {
  expect(
    result.code,
    `${example.source}: \`${example.line}\` exited ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
  ).toBe(0);
}

describe("every example in the help texts and README.md", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "pms-examples-"));
    shimBin = join(work, "bin");
    await mkdir(shimBin);
    // `pms` as `npm install -g` or `npx` would give it: the package's bin.
    await writeFile(join(shimBin, "pms"), `#!/bin/sh\nexec node ${join(REPO, "bin/pms.mjs")} "$@"\n`);
    await chmod(join(shimBin, "pms"), 0o755);
    // The synthesized definition, once, for every home.
    const { pmsHomeAt } = await import("../../local/home.ts");
    const { pipelineDefinition } = await import("../../local/run-command.ts");
    const { createRecordingReporter } = await import("../../local/progress.ts");
    await pipelineDefinition(pmsHomeAt(join(work, "seed")), createRecordingReporter());
    await cp(join(work, "seed", "cache"), join(work, "seed-cache"), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    for (const { home, port } of endpointHomes) await sh("pms serve --stop", { home, port });
    await rm(work, { recursive: true, force: true });
  });

  it("finds the examples: every command with work to show has some, and README's quick start", async () => {
    const help = helpExamples();
    const sources = new Set(help.map((example) => example.source));
    for (const command of ["run", "serve", "data generate", "data load", "report", "start"])
      expect(sources, command).toContain(`pms ${command} --help`);
    const readme = await readmeExamples();
    expect(readme.map((example) => example.line)).toEqual(
      expect.arrayContaining([
        "npm run pipeline",
        "npx pms data load path/to/yoochoose-clicks.txt --format rsc15",
        expect.stringMatching(/^curl -s -X POST http:\/\/127\.0\.0\.1:8080\/invocations/),
      ]),
    );
  });

  it(
    "runs each one as written, in the order a reader would, and each succeeds",
    async () => {
      const help = helpExamples();
      const readme = await readmeExamples();
      const ran = new Set<Example>();
      const run = async (example: Example, target: { home: string; port: number }, cwd?: string) => {
        const line = example.line
          .replace(/^npx pms /, "pms ")
          .replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${target.port}`)
          .replace(/--port 9090/g, `--port ${target.port}`);
        const result = await sh(line, { ...target, ...(cwd ? { cwd } : {}) });
        expectSucceeded(example, result);
        ran.add(example);
        return result;
      };
      const pick = (examples: Example[], test: (line: string) => boolean) => examples.filter((e) => test(e.line));
      const sample = help.find((example) => example.line === "pms data generate --events 20000 --seed 7 --catalog");
      expect(sample, "the small-sample example").toBeDefined();

      // README's quick start on a small sample: the pipeline, then its curl line against what it deployed.
      const quickStart = await newHome("quick-start");
      await run(sample as Example, quickStart);
      const [pipeline] = pick(readme, (line) => line === "npm run pipeline");
      const pipelineOutput = await run(pipeline as Example, quickStart, REPO);
      expect(pipelineOutput.stdout).toMatch(/SUCCEEDED/);
      const reportPath = /report {5}(\S+)/.exec(pipelineOutput.stdout)?.[1];
      // The catalogue reaches the report: the quick start shows category slices.
      expect(await readFile(reportPath as string, "utf8")).toMatch(/per category bucket/);
      for (const curl of pick(readme, (line) => line.startsWith("curl "))) {
        const answer = await run(curl, quickStart);
        expect(JSON.parse(answer.stdout)).toMatchObject({ recommendations: [expect.any(Array)] });
      }

      // README's click-log example, with a click log where it says path/to/.
      const clickLog = await newHome("click-log");
      await cp(CLICK_LOG, join(work, "clicks.tsv"));
      for (const example of pick(readme, (line) => line.startsWith("npx pms "))) {
        const line = example.line.replace("path/to/yoochoose-clicks.txt", join(work, "clicks.tsv"));
        const output = await run({ ...example, line }, clickLog);
        if (line.includes(" run ")) expect(output.stdout).toMatch(/SUCCEEDED/);
        ran.add(example);
      }

      // The data examples that load a warehouse or write files, in a scratch home (the default sample is 120,000 events).
      const scratch = await newHome("scratch");
      await cp(join(work, "clicks.tsv"), join(work, "yoochoose-clicks.txt"));
      for (const example of pick(help, (line) => line.startsWith("pms data ") && line !== sample?.line)) {
        const output = await run(example, scratch);
        expect(output.stderr).toMatch(/Loaded|Wrote/);
      }

      // `pms run` and `pms serve` as their help shows them, on the small sample, serve --stop last.
      const helpHome = await newHome("help");
      await run(sample as Example, helpHome);
      const runReports: string[] = [];
      for (const example of pick(help, (line) => line.startsWith("pms run"))) {
        const output = await run(example, helpHome);
        expect(output.stdout).toMatch(/SUCCEEDED/);
        runReports.push(/report {5}(\S+)/.exec(output.stdout)?.[1] as string);
      }
      // Runs after the first compare their data with the serving model's run: the drift table has a previous run.
      expect(await readFile(runReports.at(-1) as string, "utf8")).toMatch(/drift against run <code>\d{8}T\d{6}-local-/);
      for (const example of pick(help, (line) => line.startsWith("pms report"))) {
        const output = await run(example, helpHome);
        expect(await readFile(output.stdout.trim(), "utf8")).toMatch(/^<!doctype html>/);
      }
      const serves = pick(help, (line) => line.startsWith("pms serve"));
      for (const example of [
        ...serves.filter((e) => !e.line.includes("--stop")),
        ...serves.filter((e) => e.line.includes("--stop")),
      ])
        await run(example, helpHome);

      const notRun = [...help, ...readme].filter((example) => !ran.has(example));
      // `pms start` needs a deployed stack and AWS credentials: see test/local/cli.test.ts, which
      // drives it against mocked CloudFormation and Step Functions.
      expect(notRun.map((example) => example.line)).toEqual([expect.stringMatching(/^pms start /)]);
      expect(await readdir(join(helpHome.home, "runs"))).toHaveLength(3);
    },
    20 * 60_000,
  );
});
