import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  GATE_COMPARATORS,
  GATE_METRICS,
  GATE_REFERENCES,
  GateExpressionError,
  parseGateCheck,
} from "../../../core/evaluation/gate-expression.ts";

const RUNS = { numRuns: 500 };
const decimal = fc
  .tuple(fc.nat({ max: 1000 }), fc.nat({ max: 9999 }))
  .map(([whole, fraction]) => `${whole}.${fraction}`);
const space = fc.constantFrom("", " ", "  ", "\t");

describe("the gate grammar, for any text", () => {
  it("parses a check or refuses it as GateExpressionError naming the source, and never throws anything else", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.stringMatching(/^[a-z]{1,8}@\d{1,5} ?(>=|<=|>|<|=) ?-?[a-z0-9.+ -]{0,20}$/),
    );
    fc.assert(
      fc.property(text, (source) => {
        try {
          const check = parseGateCheck(source);
          expect(GATE_METRICS).toContain(check.metric);
          expect(GATE_COMPARATORS).toContain(check.comparator);
          expect(check.k).toBeGreaterThanOrEqual(1);
          expect(check.k).toBeLessThanOrEqual(1000);
        } catch (error) {
          expect(error).toBeInstanceOf(GateExpressionError);
          expect((error as GateExpressionError).source).toBe(source);
        }
      }),
      RUNS,
    );
  });

  it("reads back exactly what a well-formed check says, whatever the spacing", () => {
    const check = fc.record({
      metric: fc.constantFrom(...GATE_METRICS),
      k: fc.integer({ min: 1, max: 1000 }),
      comparator: fc.constantFrom(...GATE_COMPARATORS),
      operand: fc.oneof(
        decimal.map((value) => ({ kind: "number" as const, text: value, value: Number(value) })),
        fc
          .record({ reference: fc.constantFrom(...GATE_REFERENCES), sign: fc.constantFrom("+", "-"), margin: decimal })
          .map(({ reference, sign, margin }) => ({
            kind: "reference" as const,
            text: `${reference} ${sign} ${margin}`,
            reference,
            margin: Number(margin) * (sign === "-" ? -1 : 1),
          })),
      ),
      spaces: fc.tuple(space, space, space, space),
    });
    fc.assert(
      fc.property(check, ({ metric, k, comparator, operand, spaces: [a, b, c, d] }) => {
        const parsed = parseGateCheck(`${a}${metric}@${k}${b}${comparator}${c}${operand.text}${d}`);
        expect(parsed).toMatchObject({ metric, k, comparator });
        if (operand.kind === "number") expect(parsed.operand).toEqual({ kind: "number", value: operand.value });
        else
          expect(parsed.operand).toEqual({ kind: "reference", reference: operand.reference, margin: operand.margin });
      }),
      RUNS,
    );
  });
});
