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

  it("refuses a day the calendar lacks or outside the plausible dates, naming the field", () => {
    const message = (input: unknown) => {
      try {
        parseExecutionInput(input);
      } catch (caught) {
        return (caught as Error).message;
      }
      return "";
    };
    expect(message({ window: { start: "2024-01-08", end: "2024-02-30" } })).toMatch(
      /window\.end: "2024-02-30" is not a calendar date/,
    );
    expect(message({ window: { start: "0000-01-01", end: "2024-01-01" } })).toMatch(
      /window\.start: "0000-01-01" is not a calendar date/,
    );
    expect(message({ window: { start: "1999-12-25", end: "2000-01-07" } })).toMatch(
      /window\.start: 1999-12-25 is outside the plausible dates/,
    );
  });

  it("accepts a tenant of the tenant pattern only: no quote, backslash or separator reaches SQL", () => {
    expect(parseExecutionInput({ tenant: "demo-shop.eu_1" }).tenant).toBe("demo-shop.eu_1");
    for (const tenant of ["\\' or 1=1 --", "shop\\", "a'b", "", "-leading", "x".repeat(65), "a b", "a/b"])
      expect(() => parseExecutionInput({ tenant }), tenant).toThrow(/tenant: must be letters, digits/);
  });

  it("refuses an input over 256 KiB or nested over 32 levels before reading its fields", () => {
    let deep: unknown = {};
    for (let level = 0; level < 33; level++) deep = { a: deep };
    expect(() => parseExecutionInput(deep)).toThrow(/nested more than 32 levels deep/);
    expect(() => parseExecutionInput({ reason: "x".repeat(262_144) })).toThrow(/over the 262,144-byte \(256 KiB\)/);
  });
});
