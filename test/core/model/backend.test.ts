import { afterEach, describe, expect, it } from "vitest";
import { BackendUnavailableError, GpuUnavailableError, selectBackend } from "../../../core/model/backend.ts";
import * as tf from "../../../core/model/tf.ts";

const forced = process.env.PMS_TF_BACKEND;
afterEach(() => {
  if (forced === undefined) delete process.env.PMS_TF_BACKEND;
  else process.env.PMS_TF_BACKEND = forced;
});

describe("selectBackend", () => {
  it("falls back from tensorflow (not installed outside the image) to wasm, and logs the choice", async () => {
    const lines: string[] = [];
    const info = await selectBackend({
      candidates: ["tensorflow", "wasm"],
      requireGpu: false,
      log: (line) => lines.push(line),
    });
    expect(info).toEqual({ backend: "wasm", device: "cpu" });
    expect(tf.getBackend()).toBe("wasm");
    expect(lines).toContain("TF.js backend: wasm");
  });

  it("fails loudly instead of falling back when a GPU is required", async () => {
    await expect(
      selectBackend({ candidates: ["tensorflow", "wasm"], requireGpu: true, log: () => {} }),
    ).rejects.toThrow(GpuUnavailableError);
    await expect(selectBackend({ candidates: ["wasm"], requireGpu: true, log: () => {} })).rejects.toThrow(
      /PMS_REQUIRE_GPU=1/,
    );
  });

  it("honours PMS_TF_BACKEND and rejects an unknown one", async () => {
    process.env.PMS_TF_BACKEND = "cpu";
    expect((await selectBackend({ requireGpu: false, log: () => {} })).backend).toBe("cpu");
    process.env.PMS_TF_BACKEND = "webgpu";
    await expect(selectBackend({ requireGpu: false, log: () => {} })).rejects.toThrow(BackendUnavailableError);
    delete process.env.PMS_TF_BACKEND;
    await selectBackend({ candidates: ["wasm"], log: () => {} });
  });
});
