/**
 * The quality-gate grammar shared by the deploy configuration (checked at synth), the execution
 * input (checked in PrepareRun) and the Evaluate stage (which computes the verdicts).
 *
 *   check      := metric comparator operand
 *   metric     := name "@" k            e.g. hr@20, mrr@10, ndcg@20, coverage@20
 *   comparator := ">=" | ">" | "<=" | "<"
 *   operand    := number | reference [("+" | "-") number]
 *   reference  := "popularity" | "cooccurrence" | "sknn" | "best-baseline" | "champion"
 *
 * `best-baseline` is the run's strongest baseline by the check's own metric; like `champion` it is
 * judged on the paired-bootstrap interval of the difference, not on the point values.
 *
 * Hand-written because the grammar is four tokens long: a parser generator would be larger than
 * the parser.
 */

export const GATE_METRICS = ["hr", "mrr", "ndcg", "coverage"] as const;
export const GATE_REFERENCES = ["popularity", "cooccurrence", "sknn", "best-baseline", "champion"] as const;
/** The references whose checks are decided by a paired-bootstrap interval of challenger − reference. */
export const PAIRED_REFERENCES = ["best-baseline", "champion"] as const;
/** The baselines a run scores; `best-baseline` is the best of them. */
export type BaselineName = Exclude<GateReference, (typeof PAIRED_REFERENCES)[number]>;
export const GATE_COMPARATORS = [">=", ">", "<=", "<"] as const;

export type GateMetricName = (typeof GATE_METRICS)[number];
export type GateReference = (typeof GATE_REFERENCES)[number];
export type GateComparator = (typeof GATE_COMPARATORS)[number];

export interface GateCheck {
  /** The check as written, e.g. `hr@20 >= popularity + 0.05`. */
  readonly source: string;
  readonly metric: GateMetricName;
  readonly k: number;
  readonly comparator: GateComparator;
  /** A fixed threshold, or a reference whose value (plus `margin`) is the threshold. */
  readonly operand:
    | { readonly kind: "number"; readonly value: number }
    | { readonly kind: "reference"; readonly reference: GateReference; readonly margin: number };
}

export class GateExpressionError extends Error {
  override readonly name = "GateExpressionError";
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(
      `gate check "${source}": ${problem}. Write it as "<metric>@<k> <op> <number | reference [+|- margin]>", ` +
        `e.g. "hr@20 >= 0.5", "hr@20 > best-baseline" or "mrr@20 >= champion - 0.01" (metrics: ${GATE_METRICS.join(", ")}; ` +
        `references: ${GATE_REFERENCES.join(", ")}; operators: ${GATE_COMPARATORS.join(" ")})`,
    );
  }
}

const CHECK_PATTERN =
  /^\s*([a-z]+)@(\d+)\s*(>=|<=|>|<)\s*(?:(-?\d+(?:\.\d+)?)|([a-z]+(?:-[a-z]+)*)\s*(?:([+-])\s*(\d+(?:\.\d+)?))?)\s*$/;

export function parseGateCheck(source: string): GateCheck {
  const match = CHECK_PATTERN.exec(source);
  if (!match) throw new GateExpressionError(source, "not a check");
  const [, metric = "", kText = "", comparator = "", numberText, reference, sign, marginText] = match;
  if (!(GATE_METRICS as readonly string[]).includes(metric)) {
    throw new GateExpressionError(source, `unknown metric "${metric}"`);
  }
  const k = Number(kText);
  if (!Number.isInteger(k) || k < 1 || k > 1000) {
    throw new GateExpressionError(source, `k must be a whole number from 1 to 1000, got ${kText}`);
  }
  const base = { source: source.trim(), metric: metric as GateMetricName, k, comparator: comparator as GateComparator };
  if (numberText !== undefined) {
    return { ...base, operand: { kind: "number", value: Number(numberText) } };
  }
  if (!(GATE_REFERENCES as readonly string[]).includes(reference ?? "")) {
    throw new GateExpressionError(source, `unknown reference "${reference}"`);
  }
  const margin = marginText === undefined ? 0 : Number(marginText) * (sign === "-" ? -1 : 1);
  return { ...base, operand: { kind: "reference", reference: reference as GateReference, margin } };
}

/** Parses every check and reports all problems at once, so a user fixes them in one pass. */
export function parseGate(sources: readonly string[]): GateCheck[] {
  const problems: string[] = [];
  const checks: GateCheck[] = [];
  for (const source of sources) {
    try {
      checks.push(parseGateCheck(source));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return checks;
}
