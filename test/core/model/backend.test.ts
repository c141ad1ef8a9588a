import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  BackendUnavailableError,
  GpuUnavailableError,
  selectBackend,
  WASM_BINARY,
  wasmBinaryFolder,
} from "../../../core/model/backend.ts";
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
    expect(lines.find((line) => line.startsWith("TF.js backend wasm chosen after"))).toMatch(
      /tensorflow: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/,
    );
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

describe("wasmBinaryFolder", () => {
  it("takes the .wasm files beside the running module (a Lambda bundle has no node_modules to resolve from)", async () => {
    // Prepare: a folder holding a bundle and its copied binary, as the CDK's afterBundling hook leaves it.
    const folder = await mkdtemp(join(tmpdir(), "pms-wasm-"));
    try {
      await writeFile(join(folder, "index.mjs"), "");
      await writeFile(join(folder, WASM_BINARY), "");

      // Act
      const found = wasmBinaryFolder(pathToFileURL(join(folder, "index.mjs")).href);

      // Assess
      expect(found).toBe(`${folder}/`);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("falls back to the installed package's dist folder, and names both places when neither has them", async () => {
    const dist = `${dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"))}/`;
    expect(wasmBinaryFolder(import.meta.url)).toBe(dist);
    const lone = await mkdtemp(join(tmpdir(), "pms-wasm-lone-"));
    try {
      expect(() => wasmBinaryFolder(pathToFileURL(join(lone, "index.mjs")).href)).toThrow(
        new RegExp(`${WASM_BINARY} is neither beside ${lone}`),
      );
    } finally {
      await rm(lone, { recursive: true, force: true });
    }
  });
});
