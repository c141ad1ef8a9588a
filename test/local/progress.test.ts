import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgressRenderer, formatSeconds, renderBar } from "../../local/progress.ts";

function capture(isTTY: boolean) {
  let text = "";
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
    { isTTY, columns: 80 },
  );
  return { stream, text: () => text };
}

describe("progress renderer", () => {
  it("prints throttled plain lines when not on a terminal", () => {
    const out = capture(false);
    const reporter = createProgressRenderer({ stream: out.stream });
    reporter.stateStarted("Train the model on a GPU", "Task");
    for (let done = 1; done <= 1000; done++) reporter.progress("loading", done, 1000);
    reporter.progressDone("loading", "1,000 rows");
    reporter.stateEnded("Train the model on a GPU", 12.34, "succeeded");
    const lines = out.text().trim().split("\n");
    expect(lines[0]).toBe("▶ Train the model on a GPU");
    // One line per tenth (0 % to 100 %), not one per row.
    expect(lines.filter((line) => line.includes("loading ["))).toHaveLength(11);
    expect(lines.at(-1)).toBe("✔ Train the model on a GPU (12 s)");
    expect(out.text()).not.toContain("\r");
  });

  it("redraws the bar in place on a terminal and clears it before the next line", () => {
    const out = capture(true);
    const reporter = createProgressRenderer({ stream: out.stream });
    reporter.progress("epochs", 1, 4, "loss 2.1");
    reporter.progress("epochs", 2, 4, "loss 1.9");
    reporter.line("done");
    expect(out.text()).toContain("\r\x1b[2K    epochs [##############--------------]  50%  loss 1.9");
    expect(out.text().endsWith("\r\x1b[2Kdone\n")).toBe(true);
  });

  it("formats bars and durations", () => {
    expect(renderBar(1, 4, 8)).toBe("[##------]  25%");
    expect(renderBar(9, 4, 8)).toBe("[########] 100%");
    expect(formatSeconds(3.21)).toBe("3.2 s");
    expect(formatSeconds(185)).toBe("3 min 5 s");
  });
});
