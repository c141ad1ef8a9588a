import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  parseEpochLine,
  runTrainingProcess,
  TrainingProcessError,
  trainingPosition,
} from "../../local/training-process.ts";

const entryPoint = fileURLToPath(new URL("./fixtures/fake-training-entry.ts", import.meta.url));

describe("parseEpochLine", () => {
  it("reads the training loop's batch and epoch-end lines", () => {
    const batch = parseEpochLine("epoch 3/10 batch 25/100 loss 2.3100 samples/s 350 eta 12s");
    expect(batch).toEqual({
      epoch: 3,
      epochs: 10,
      batch: 25,
      batches: 100,
      epochDone: false,
      detail: "loss 2.3100 samples/s 350 eta 12s",
    });
    expect(batch && trainingPosition(batch)).toBe(2.25);
    const done = parseEpochLine("epoch 3/10 done loss 2.1 hr@20 0.4100 mrr@20 0.2000 31.0s 350 samples/s");
    expect(done).toMatchObject({
      epoch: 3,
      epochDone: true,
      detail: "loss 2.1 hr@20 0.4100 mrr@20 0.2000 31.0s 350 samples/s",
    });
    expect(done && trainingPosition(done)).toBe(3);
    expect(parseEpochLine("[train] Epoch 1 / 2: loss=3.2")).toMatchObject({ epoch: 1, epochs: 2, epochDone: false });
    expect(parseEpochLine("data: 12000 training sessions")).toBeUndefined();
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
