import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../local/cli.ts";
import { pmsHomeAt } from "../../local/home.ts";
import { writeRunRecord } from "../../local/run-record.ts";

function cli(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  let err = "";
  const stderr = new Writable({
    write(chunk, _encoding, done) {
      err += String(chunk);
      done();
    },
  });
  const program = buildProgram({ stdout: (text) => out.push(text), stderr, env });
  const exitOverride = (command: Command) => {
    command.exitOverride();
    command.configureOutput({ writeOut: (text) => out.push(text), writeErr: (text) => (err += text) });
    for (const sub of command.commands) exitOverride(sub);
  };
  exitOverride(program);
  return {
    program,
    run: (...args: string[]) => program.parseAsync(["node", "pms", ...args]),
    out: () => out.join("\n"),
    err: () => err,
  };
}

function allCommands(command: Command, path: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...path, sub.name()], ...allCommands(sub, [...path, sub.name()])]);
}

describe("pms", () => {
  it("has a description and --help on every command", async () => {
    const commands = allCommands(cli().program);
    expect(commands.map((path) => path.join(" "))).toEqual(
      expect.arrayContaining([
        "run",
        "pipeline",
        "serve",
        "data generate",
        "data load",
        "runs",
        "report",
        "start",
        "status",
      ]),
    );
    for (const path of commands) {
      const { run, out } = cli();
      await expect(run(...path, "--help")).rejects.toMatchObject({ code: "commander.helpDisplayed" });
      expect(out(), path.join(" ")).toContain(`Usage: pms ${path.join(" ")}`);
    }
  });

  it("lists the runs of $PMS_HOME, newest first, as a table or JSON", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-cli-")));
    await writeRunRecord(home, {
      runId: "run-a",
      executionName: "a",
      status: "succeeded",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
    });
    await writeRunRecord(home, {
      runId: "run-b",
      executionName: "b",
      status: "failed",
      startedAt: "2026-01-02T00:00:00Z",
      input: {},
      stages: [],
    });
    const table = cli({ PMS_HOME: home.root });
    await table.run("runs");
    expect(
      table
        .out()
        .split("\n")
        .slice(1)
        .map((line) => line.split(/\s+/)[0]),
    ).toEqual(["run-b", "run-a"]);
    const json = cli({ PMS_HOME: home.root });
    await json.run("runs", "--json");
    expect(JSON.parse(json.out()).map((record: { runId: string }) => record.runId)).toEqual(["run-b", "run-a"]);
  });

  it("says which run has no report, and that an unknown run does not exist", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-cli-")));
    await writeRunRecord(home, {
      runId: "run-a",
      executionName: "a",
      status: "failed",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
      error: { name: "DbtRunFailed", cause: "x", state: "Check the dbt run" },
    });
    await expect(cli({ PMS_HOME: home.root }).run("report", "run-a")).rejects.toThrow(
      /run-a has no report \(it failed in "Check the dbt run" before evaluation\)/,
    );
    await expect(cli({ PMS_HOME: home.root }).run("report", "nope")).rejects.toThrow(/No local run "nope"/);
  });

  it("pms start rejects a bad input before calling AWS", async () => {
    const sfn = mockClient(SFNClient);
    const cloudFormation = mockClient(CloudFormationClient);
    await expect(
      cli().run("start", "--input", '{"deploy": "always", "window": {"start": "2024-01-07", "end": "2024-01-01"}}'),
    ).rejects.toThrow(/deploy[\s\S]*window\.end|window\.end[\s\S]*deploy/);
    expect(sfn.calls()).toHaveLength(0);
    expect(cloudFormation.calls()).toHaveLength(0);
    sfn.restore();
    cloudFormation.restore();
  });

  it("rejects a bad option value with the option's rule", async () => {
    const { run, err } = cli();
    await expect(run("run", "--port", "99999")).rejects.toMatchObject({ code: "commander.invalidArgument" });
    expect(err()).toContain("must be a port number between 1 and 65535");
  });

  it("prints the package's version and documents the exit codes in --help", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const version = cli();
    await expect(version.run("--version")).rejects.toMatchObject({ code: "commander.version", exitCode: 0 });
    expect(version.out().trim()).toBe(pkg.version);
    const help = cli();
    await expect(help.run("--help")).rejects.toMatchObject({ code: "commander.helpDisplayed" });
    expect(help.out()).toMatch(/Exit codes:[\s\S]*3 {4}the quality gate rejected the model[\s\S]*130 {2}aborted/);
  });

  it("names PMS_PORT when it is not a port", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-cli-")));
    await expect(cli({ PMS_HOME: home.root, PMS_PORT: "eighty" }).run("doctor")).rejects.toThrow(
      'PMS_PORT="eighty" must be a port number between 1 and 65535',
    );
  });
});
