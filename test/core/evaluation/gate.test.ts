import { describe, expect, it } from "vitest";
import { evaluateGate, type GateValues } from "../../../core/evaluation/gate.ts";

const values: GateValues = {
  challenger: { "hr@20": 0.5, "mrr@20": 0.2, "coverage@20": 0.3 },
  baselines: { popularity: { "hr@20": 0.1 }, cooccurrence: { "hr@20": 0.47, "coverage@20": 0.4 } },
  missing: { sknn: "V-SkNN skipped: too many events" },
};

describe("evaluateGate", () => {
  it("passes fixed thresholds and baseline margins that are met", () => {
    const result = evaluateGate(["hr@20 >= 0.5", "hr@20 >= popularity + 0.05", "coverage@20 > 0.2"], values);
    expect(result.passed).toBe(true);
    expect(result.reasons).toEqual([]);
    expect(result.checks.map((check) => check.threshold)).toEqual([0.5, expect.closeTo(0.15, 12), 0.2]);
  });

  it("fails a baseline check that the margin makes unreachable and names it", () => {
    const result = evaluateGate(["hr@20 >= cooccurrence + 0.05", "coverage@20 >= cooccurrence"], values);
    expect(result.passed).toBe(false);
    expect(result.checks.map((check) => check.passed)).toEqual([false, false]);
    expect(result.reasons[0]).toMatch(
      /^hr@20 >= cooccurrence \+ 0.05 failed: hr@20 0.5000 is below cooccurrence 0.4700 \+0.0500/,
    );
  });

  it("fails a check against a baseline that was not computed, saying why", () => {
    const result = evaluateGate(["hr@20 >= sknn"], values);
    expect(result.passed).toBe(false);
    expect(result.checks[0]?.detail).toMatch(/too many events/);
  });

  it("fails a metric that was not computed for the model", () => {
    expect(evaluateGate(["ndcg@5 >= 0.1"], values).checks[0]).toMatchObject({
      passed: false,
      detail: "ndcg@5 was not computed for the model",
    });
  });

  it("treats <= and < as upper limits", () => {
    const result = evaluateGate(["mrr@20 <= 0.2", "mrr@20 < 0.2"], values);
    expect(result.checks.map((check) => check.passed)).toEqual([true, false]);
  });

  it("judges best-baseline on the paired interval against the strongest baseline by the check's metric", () => {
    const interval = (lower: number, upper: number) => ({ mean: (lower + upper) / 2, lower, upper, confidence: 0.95 });
    const withDifferences = (hr: ReturnType<typeof interval>, mrr: ReturnType<typeof interval>): GateValues => ({
      ...values,
      bestBaselines: {
        "hr@20": { name: "cooccurrence", value: 0.47, difference: hr },
        "mrr@20": { name: "popularity", value: 0.19, difference: mrr },
      },
    });
    const gate = ["hr@20 > best-baseline", "mrr@20 >= best-baseline - 0.005"];

    const clearlyBetter = evaluateGate(gate, withDifferences(interval(0.01, 0.05), interval(-0.004, 0.02)));
    // Better on the point values (0.5 > 0.47) but not beyond the interval: not better.
    const notClearly = evaluateGate(gate, withDifferences(interval(-0.002, 0.06), interval(-0.006, 0.02)));

    expect(clearlyBetter.passed).toBe(true);
    expect(clearlyBetter.checks[0]?.detail).toBe(
      "model − cooccurrence (the best baseline by hr@20, 0.4700) +0.0300 (95% CI +0.0100..+0.0500); lower bound +0.0100 > the margin +0.0000",
    );
    expect(clearlyBetter.checks[1]?.threshold).toBeCloseTo(0.185, 12);
    expect(notClearly.checks.map((check) => check.passed)).toEqual([false, false]);
    expect(notClearly.reasons[1]).toMatch(
      /^mrr@20 >= best-baseline - 0.005 failed: model − popularity .*lower bound −0\.0060 is below the margin −0\.0050/,
    );
  });

  it("compares best-baseline on point values without an interval, and fails when no baseline has the metric", () => {
    // coverage@20: cooccurrence (0.4) is the only baseline with it.
    const coverage = evaluateGate(["coverage@20 >= best-baseline - 0.15"], values);
    const missing = evaluateGate(["ndcg@20 >= best-baseline"], {
      ...values,
      challenger: { ...values.challenger, "ndcg@20": 0.3 },
    });

    expect(coverage.passed).toBe(true);
    expect(coverage.checks[0]?.detail).toMatch(
      /best baseline cooccurrence 0\.4000 −0\.1500 = 0\.2500 \(point values, no interval\)/,
    );
    expect(missing.passed).toBe(false);
    expect(missing.checks[0]?.detail).toMatch(/^no baseline has ndcg@20: V-SkNN skipped: too many events/);
  });

  it("passes a champion check when no champion serves, and says so", () => {
    const result = evaluateGate(["mrr@20 >= champion - 0.01"], {
      ...values,
      missing: { champion: "no model is serving yet" },
    });
    expect(result.passed).toBe(true);
    expect(result.checks[0]?.detail).toMatch(/no champion is serving \(no model is serving yet\)/);
  });

  it("passes a champion check only when the interval's lower bound clears the margin", () => {
    const champion = (lower: number) => ({
      description: "endpoint e",
      rescored: true,
      metrics: { "hr@20": 0.49 },
      differences: { "hr@20": { mean: 0.01, lower, upper: 0.03, confidence: 0.95 } },
    });
    // The point difference (+0.01) would pass; the interval decides.
    expect(evaluateGate(["hr@20 >= champion - 0.01"], { ...values, champion: champion(-0.005) }).passed).toBe(true);
    const blocked = evaluateGate(["hr@20 >= champion - 0.01"], { ...values, champion: champion(-0.02) });
    expect(blocked.passed).toBe(false);
    expect(blocked.checks[0]).toMatchObject({ value: 0.5, threshold: expect.closeTo(0.48, 12) });
    expect(blocked.reasons[0]).toMatch(/lower bound −0.0200 is below the margin −0.0100/);
  });

  it("compares stored champion metrics as point values and says they were not re-scored", () => {
    const result = evaluateGate(["hr@20 >= champion"], {
      ...values,
      champion: { description: "package 3", rescored: false, metrics: { "hr@20": 0.55 }, differences: {} },
    });
    expect(result.passed).toBe(false);
    expect(result.checks[0]?.detail).toMatch(/stored metrics, not re-scored/);
  });

  it("passes as not comparable when the champion lacks the metric", () => {
    const result = evaluateGate(["coverage@20 >= champion"], {
      ...values,
      champion: { description: "package 3", rescored: false, metrics: {}, differences: {} },
    });
    expect(result.checks[0]).toMatchObject({ passed: true, detail: expect.stringMatching(/not comparable/) });
  });

  it("rejects a malformed check with the grammar's message", () => {
    expect(() => evaluateGate(["hr@20 => 0.5"], values)).toThrow(/not a check/);
  });
});
