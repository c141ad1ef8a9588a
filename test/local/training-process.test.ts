import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseEpochLine, runTrainingProcess, TrainingProcessError } from "../../local/training-process.ts";

const entryPoint = fileURLToPath(new URL("./fixtures/fake-training-entry.ts", import.meta.url));

describe("parseEpochLine", () => {
  it("reads the epoch counter and keeps the rest as detail", () => {
    expect(parseEpochLine("epoch 3/10 — loss 2.31, val hr@20 0.41, 350 samples/s, ETA 12 s")).toEqual({
      epoch: 3,
      epochs: 10,
      detail: "loss 2.31, val hr@20 0.41, 350 samples/s, ETA 12 s",
    });
    expect(parseEpochLine("[train] Epoch 1 / 2: loss=3.2")).toMatchObject({ epoch: 1, epochs: 2 });
    expect(parseEpochLine("loading 12000 sessions")).toBeUndefined();
  });
});

describe("runTrainingProcess", () => {
  it("passes the command through, logs every line and reports epochs", async () => {
    // Prepare
    const logPath = join(await mkdtemp(join(tmpdir(), "pms-train-")), "run.log");
    const epochs: number[] = [];
    // Act
    await runTrainingProcess({
      command: ["train", "--run-id", "r1"],
      logPath,
      entryPoint,
      onProgress: (progress) => epochs.push(progress.epoch),
    });
    // Assess
    expect(epochs).toEqual([1, 2]);
    const log = await readFile(logPath, "utf8");
    expect(log).toContain("command: train --run-id r1");
  });

  it("fails with the exit code and the last lines of output when the process crashes", async () => {
    const logPath = join(await mkdtemp(join(tmpdir(), "pms-train-")), "run.log");
    const run = runTrainingProcess({ command: ["train"], logPath, entryPoint, env: { FAKE_EXIT_CODE: "3" } });
    await expect(run).rejects.toBeInstanceOf(TrainingProcessError);
    await expect(run).rejects.toThrow(/exited with code 3:[\s\S]*boom: out of memory/);
  });

  it("stops the child when the run is aborted", async () => {
    const logPath = join(await mkdtemp(join(tmpdir(), "pms-train-")), "run.log");
    const controller = new AbortController();
    const run = runTrainingProcess({
      command: ["train"],
      logPath,
      entryPoint,
      env: { FAKE_HANG: "1" },
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.epoch === 2) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/stopped: the run was aborted/);
  });
});
