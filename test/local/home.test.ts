import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../local/cli.ts";
import { InvalidRunIdError, pmsHomeAt, runFolder } from "../../local/home.ts";
import { listRunRecords, writeRunRecord } from "../../local/run-record.ts";
import { serveCommand } from "../../local/serve-command.ts";

/** A run record planted outside $PMS_HOME, where `../../decoy` from `$PMS_HOME/runs` lands. */
async function homeWithDecoy() {
  const root = await mkdtemp(join(tmpdir(), "pms-home-"));
  const home = pmsHomeAt(join(root, "home"));
  await mkdir(join(root, "decoy"), { recursive: true });
  await writeFile(
    join(root, "decoy", "run.json"),
    JSON.stringify({
      runId: "decoy",
      executionName: "decoy",
      status: "succeeded",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
      reportUri: "file:///etc/passwd",
      modelUri: "/etc/passwd",
    }),
  );
  return home;
}

function quietCli(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const program = buildProgram({
    stdout: (text) => out.push(text),
    stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
    env,
  });
  return { run: (...args: string[]) => program.parseAsync(["node", "pms", ...args]), out };
}

describe("run ids", () => {
  it("are refused when they would leave $PMS_HOME/runs, before any file is read", async () => {
    // Prepare
    const home = await homeWithDecoy();
    const cli = quietCli({ PMS_HOME: home.root });

    // Act / Assess
    await expect(cli.run("report", "../../decoy")).rejects.toBeInstanceOf(InvalidRunIdError);
    await expect(cli.run("report", "../../decoy")).rejects.toThrow(/"\.\.\/\.\.\/decoy" is not a run id/);
    expect(cli.out).toEqual([]);
    await expect(serveCommand({ home, endpointName: "pms-recommender", runId: "../../decoy" })).rejects.toBeInstanceOf(
      InvalidRunIdError,
    );
    for (const bad of ["..", ".hidden", "a/b", "a\\b", "/etc", ""])
      expect(() => runFolder(home, bad)).toThrow(InvalidRunIdError);
    expect(runFolder(home, "20261126T143000-local-1a2b3c-4d5e6f")).toBe(
      join(home.runs, "20261126T143000-local-1a2b3c-4d5e6f"),
    );
  });

  it("`pms runs` lists only folders named like runs", async () => {
    // Prepare
    const home = await homeWithDecoy();
    await writeRunRecord(home, {
      runId: "run-a",
      executionName: "a",
      status: "failed",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
    });
    await mkdir(join(home.runs, ".partial"), { recursive: true });
    await writeFile(join(home.runs, ".partial", "run.json"), "{}");

    // Act
    const records = await listRunRecords(home);

    // Assess
    expect(records.map((record) => record.runId)).toEqual(["run-a"]);
  });
});
