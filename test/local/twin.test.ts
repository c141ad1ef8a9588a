import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_EXECUTION_INPUT_BYTES } from "../../core/pipeline/execution-input.ts";
import { pmsHomeAt, runRecordPath } from "../../local/home.ts";
import { createRecordingReporter } from "../../local/progress.ts";
import { runLockPath, WarehouseBusyError } from "../../local/run-lock.ts";
import { listRunRecords } from "../../local/run-record.ts";
import { type LocalTwin, runLocalPipeline } from "../../local/twin.ts";

/** A twin whose every adapter fails the test if touched: a refused input must not reach any of them. */
async function untouchableTwin(): Promise<LocalTwin> {
  const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-twin-")));
  const touched = () => {
    throw new Error("a refused input reached an adapter");
  };
  return {
    home,
    store: new Proxy({}, { get: touched }) as never,
    handlers: { prepareRun: touched },
    train: async () => touched(),
    endpointUrl: async () => undefined,
    logTo: () => undefined,
    exampleSession: async () => undefined,
    close: async () => undefined,
  };
}

const definition = {
  StartAt: "Prepare the run",
  States: { "Prepare the run": { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", End: true } },
};

describe("runLocalPipeline refuses before the engine starts: an input the cloud would not start, a busy $PMS_HOME", () => {
  it("over 256 KiB: the run fails naming the limit, and run.json does not hold the input", async () => {
    // Prepare: 50 MB of execution input.
    const twin = await untouchableTwin();
    const input = { reason: "x".repeat(50 * 1024 * 1024) };

    // Act
    const record = await runLocalPipeline({ twin, definition, input, reporter: createRecordingReporter() });

    // Assess
    expect(record.status).toBe("failed");
    expect(record.error?.name).toBe("InvalidExecutionInput");
    expect(record.error?.cause).toMatch(/52,428,8\d\d bytes of JSON, over the 262,144-byte \(256 KiB\)/);
    const path = runRecordPath(twin.home, record.runId);
    expect((await stat(path)).size).toBeLessThan(4096);
    expect(await readFile(path, "utf8")).not.toContain("xxxxxxxx");
    expect((await listRunRecords(twin.home)).map((listed) => listed.status)).toEqual(["failed"]);
  });

  it("just under 256 KiB passes the envelope check (the schema then judges it)", async () => {
    // Prepare: 200 bytes under the limit; the untouchable twin's PrepareRun throws, which fails the run there.
    const twin = await untouchableTwin();
    const input = { reason: "x".repeat(MAX_EXECUTION_INPUT_BYTES - 200) };

    // Act
    const record = await runLocalPipeline({ twin, definition, input, reporter: createRecordingReporter() });

    // Assess
    expect(record.error?.state).toBe("Prepare the run");
    expect(record.error?.cause).toMatch(/reached an adapter/);
  });

  it("nested 5,000 deep (a 10 KB file): the run fails at once instead of hanging", async () => {
    // Prepare
    const twin = await untouchableTwin();
    let input: unknown = {};
    for (let level = 0; level < 5000; level++) input = { window: input };

    // Act
    const record = await runLocalPipeline({ twin, definition, input, reporter: createRecordingReporter() });

    // Assess
    expect(record).toMatchObject({ status: "failed", error: { name: "InvalidExecutionInput" } });
    expect(record.error?.cause).toMatch(/nested more than 32 levels deep/);
  });

  it("while another run holds $PMS_HOME: WarehouseBusy naming it, before anything runs or is recorded", async () => {
    // Prepare: a live process (this worker's parent) holds the lock for its run.
    const twin = await untouchableTwin();
    await mkdir(twin.home.root, { recursive: true });
    await writeFile(
      runLockPath(twin.home),
      JSON.stringify({ pid: process.ppid, holder: "run local-0f0f0f", since: "2026-12-07T23:00:00.000Z" }),
    );

    // Act
    const error = await runLocalPipeline({ twin, definition, input: {}, reporter: createRecordingReporter() }).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(WarehouseBusyError);
    expect((error as Error).message).toMatch(/run local-0f0f0f \(process \d+/);
    expect(await listRunRecords(twin.home)).toEqual([]);
  });
});
