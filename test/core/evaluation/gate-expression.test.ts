import { describe, expect, it } from "vitest";
import { parseGate, parseGateCheck } from "../../../core/evaluation/gate-expression.ts";

describe("parseGateCheck", () => {
  it("reads a fixed threshold", () => {
    expect(parseGateCheck("hr@20 >= 0.5")).toMatchObject({
      metric: "hr",
      k: 20,
      comparator: ">=",
      operand: { kind: "number", value: 0.5 },
    });
  });

  it("reads a reference with a negative margin", () => {
    expect(parseGateCheck("mrr@20 >= champion - 0.01").operand).toEqual({
      kind: "reference",
      reference: "champion",
      margin: -0.01,
    });
  });

  it("reads a reference without a margin", () => {
    expect(parseGateCheck("coverage@10>popularity").operand).toEqual({
      kind: "reference",
      reference: "popularity",
      margin: 0,
    });
  });

  it("reads the strongest baseline as one hyphenated reference, with or without spaces around the margin", () => {
    expect(parseGateCheck("mrr@20 >= best-baseline - 0.005").operand).toEqual({
      kind: "reference",
      reference: "best-baseline",
      margin: -0.005,
    });
    expect(parseGateCheck("hr@20 > best-baseline+0.01").operand).toEqual({
      kind: "reference",
      reference: "best-baseline",
      margin: 0.01,
    });
    expect(parseGateCheck("hr@20>best-baseline").comparator).toBe(">");
  });

  it.each([
    ["hr@20 >= best-sknn", /unknown reference "best-sknn"/],
    ["precision@20 >= 0.1", /unknown metric "precision"/],
    ["hr@0 >= 0.1", /k must be a whole number/],
    ["hr@20 >= best", /unknown reference "best"/],
    ["hr@20 = 0.1", /not a check/],
  ])("rejects %s with a message naming the problem", (source, problem) => {
    expect(() => parseGateCheck(source)).toThrow(problem);
  });
});

describe("parseGate", () => {
  it("reports every bad check at once", () => {
    expect(() => parseGate(["hr@20 >= 0.5", "foo", "hr@20 >= best"])).toThrow(/"foo"[\s\S]*"hr@20 >= best"/);
  });
});
