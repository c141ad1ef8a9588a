import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TENANT_PATTERN } from "../../../core/data/tenant.ts";
import { isCalendarDate, plausibleDates } from "../../../core/data/time-policy.ts";
import {
  InvalidExecutionInputError,
  MAX_EXECUTION_INPUT_DEPTH,
  parseExecutionInput,
} from "../../../core/pipeline/execution-input.ts";

/** Bounded: a few hundred inputs per property keeps the file well under a second or two. */
const RUNS = { numRuns: 300 };

const calendarDay = fc
  .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true })
  .map((date) => date.toISOString().slice(0, 10));

describe("the execution-input schema, for any input", () => {
  it("either accepts it with every field within the rules, or refuses it as InvalidExecutionInput (nothing else)", () => {
    const anyInput = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record(
        {
          window: fc.record({ start: fc.oneof(calendarDay, fc.string()), end: fc.oneof(calendarDay, fc.string()) }),
          tenant: fc.oneof(fc.string(), fc.stringMatching(TENANT_PATTERN)),
          holdoutDays: fc.oneof(fc.integer(), fc.double()),
          deploy: fc.constantFrom("auto", "skip", "force", "maybe"),
          gate: fc.array(fc.string(), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(anyInput, (raw) => {
        let parsed: ReturnType<typeof parseExecutionInput>;
        try {
          parsed = parseExecutionInput(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidExecutionInputError);
          expect((error as InvalidExecutionInputError).problems.length).toBeGreaterThan(0);
          return;
        }
        const { first, last } = plausibleDates();
        if (parsed.tenant !== undefined) expect(parsed.tenant).toMatch(TENANT_PATTERN);
        if (parsed.window) {
          for (const day of [parsed.window.start, parsed.window.end]) {
            expect(isCalendarDate(day)).toBe(true);
            expect(day >= first && day <= last).toBe(true);
          }
          expect(parsed.window.start <= parsed.window.end).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("accepts every input built from valid parts, unchanged", () => {
    const valid = fc
      .record(
        {
          window: fc
            .tuple(calendarDay, calendarDay)
            .map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a })),
          tenant: fc.stringMatching(TENANT_PATTERN),
          holdoutDays: fc.integer({ min: 1, max: 90 }),
          deploy: fc.constantFrom("auto", "skip", "force"),
          training: fc.record({ epochs: fc.integer({ min: 1, max: 200 }) }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      )
      .filter((input) => input.tenant === undefined || input.tenant.length <= 64);
    fc.assert(
      fc.property(valid, (input) => {
        expect(parseExecutionInput(input)).toEqual(input);
      }),
      RUNS,
    );
  });

  it("refuses any nesting deeper than the limit without overflowing the stack, however deep", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_EXECUTION_INPUT_DEPTH + 1, max: 20_000 }), (depth) => {
        let input: unknown = {};
        for (let level = 1; level < depth; level++) input = { window: input };
        expect(() => parseExecutionInput(input)).toThrow(/nested more than 32 levels deep/);
      }),
      { numRuns: 20 },
    );
  });
});
