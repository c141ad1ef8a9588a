import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as tf from "../../../core/model/tf.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

describe("tf (tfjs-core, its gradients, the CPU backend)", () => {
  it("differentiates the ops the model's loss uses (sum, division, log-softmax, gather, matMul)", async () => {
    await tf.setBackend("cpu");
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const w = tf.tensor2d([
      [0.5, -1],
      [2, 0.25],
    ]);
    const loss = (input: tf.Tensor) =>
      tf.neg(tf.sum(tf.div(tf.logSoftmax(tf.matMul(tf.gather(input, [1, 0]), w)), tf.scalar(2))));
    const gradient = tf.grad(loss)(x);
    expect(gradient.shape).toEqual([2, 2]);
    // Central differences agree with the registered gradients.
    const values = await x.array();
    const analytic = (await gradient.array()) as number[][];
    const epsilon = 1e-3;
    for (const [row, col] of [
      [0, 0],
      [1, 1],
    ] as const) {
      const shifted = (delta: number) => {
        const copy = values.map((line) => [...line]);
        (copy[row] as number[])[col] = ((copy[row] as number[])[col] as number) + delta;
        return loss(tf.tensor2d(copy)).dataSync()[0] as number;
      };
      const numeric = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon);
      expect(analytic[row]?.[col]).toBeCloseTo(numeric, 2);
    }
  });

  it("ships the gradients generated from the installed tfjs-core (rerun scripts/tfjs-gradients.mjs after an upgrade)", async () => {
    const { generateTfjsGradients, GENERATED } = (await import(`${REPO}/scripts/tfjs-gradients.mjs`)) as {
      generateTfjsGradients: () => Promise<string>;
      GENERATED: string;
    };
    const committed = await readFile(`${REPO}/${GENERATED}`, "utf8");
    expect(committed).toBe(await generateTfjsGradients());
  });
});
