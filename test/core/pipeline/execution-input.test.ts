import { describe, expect, it } from "vitest";
import { InvalidExecutionInputError, parseExecutionInput } from "../../../core/pipeline/execution-input.ts";

describe("parseExecutionInput", () => {
  it("accepts the empty input of the nightly schedule", () => {
    expect(parseExecutionInput({ trigger: "schedule" })).toEqual({ trigger: "schedule" });
  });

  it("accepts a full console input", () => {
    const input = {
      trigger: "console",
      window: { start: "2014-04-01", end: "2014-04-07" },
      holdoutDays: 1,
      training: { epochs: 3, embeddingDim: 64 },
      gate: ["hr@20 >= popularity + 0.05"],
      deploy: "force",
      reason: "hotfix",
    };
    expect(parseExecutionInput(input)).toEqual(input);
  });

  it("lists every problem with its field", () => {
    const error = (() => {
      try {
        parseExecutionInput({
          window: { start: "2014-04-08", end: "2014-04-07" },
          deploy: "maybe",
          gate: ["x"],
          extra: 1,
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidExecutionInputError);
    const message = (error as Error).message;
    expect(message).toMatch(/window\.end: window\.start must be on or before window\.end/);
    expect(message).toMatch(/deploy:/);
    expect(message).toMatch(/gate\.0: gate check "x"/);
    expect(message).toMatch(/extra/);
  });
});
