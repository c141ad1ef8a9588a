import type { GateCheckResult } from "../pipeline/contracts.ts";
import type { Interval } from "./bootstrap.ts";
import {
  type BaselineName,
  type GateCheck,
  type GateComparator,
  type GateReference,
  parseGate,
} from "./gate-expression.ts";
import { metricKey } from "./metrics.ts";

/** What the gate's checks are evaluated against. Metric keys are `hr@20`, `coverage@10`, … */
export interface GateValues {
  readonly challenger: Readonly<Record<string, number>>;
  /** Baselines scored on the same points; a missing one makes its checks fail with the reason in `missing`. */
  readonly baselines: Partial<Record<BaselineName, Readonly<Record<string, number>>>>;
  /**
   * Per metric key, the strongest baseline by that metric and the paired-bootstrap interval of
   * challenger − it on the same points. Without an entry, `best-baseline` checks compare point values.
   */
  readonly bestBaselines?: Readonly<Record<string, BestBaseline>>;
  /** Why a baseline was not computed (e.g. "sknn: skipped, 40M training events exceed the limit"). */
  readonly missing?: Partial<Record<GateReference, string>>;
  /** The model serving now; absent when nothing serves yet. */
  readonly champion?: ChampionValues;
}

export interface BestBaseline {
  readonly name: BaselineName;
  readonly value: number;
  /** Paired-bootstrap interval of challenger − this baseline. */
  readonly difference?: Interval;
}

export interface ChampionValues {
  readonly description: string;
  /** Its metrics on today's points when re-scored, else the metrics stored with it. */
  readonly metrics: Readonly<Record<string, number>>;
  /** True when re-scored on today's points (and `differences` hold paired intervals). */
  readonly rescored: boolean;
  /** Paired-bootstrap interval of challenger − champion, per metric key. */
  readonly differences: Readonly<Record<string, Interval>>;
}

export interface GateEvaluation {
  readonly passed: boolean;
  readonly checks: GateCheckResult[];
  /** One line per failed check, readable in a notification. */
  readonly reasons: string[];
}

function compare(value: number, comparator: GateComparator, threshold: number): boolean {
  switch (comparator) {
    case ">=":
      return value >= threshold;
    case ">":
      return value > threshold;
    case "<=":
      return value <= threshold;
    case "<":
      return value < threshold;
  }
}

const format = (value: number) => (Number.isFinite(value) ? value.toFixed(4) : String(value));
const signed = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(4)}`;

/**
 * `a >= b` when the comparison holds, `a is below b` when it does not: a failed check must not read
 * like the condition it failed.
 */
function comparison(left: string, comparator: GateCheck["comparator"], right: string, passed: boolean): string {
  if (passed) return `${left} ${comparator} ${right}`;
  const failed = { ">=": "is below", ">": "is not above", "<=": "is above", "<": "is not below" }[comparator];
  return `${left} ${failed} ${right}`;
}

function championCheck(
  check: GateCheck,
  key: string,
  value: number,
  margin: number,
  values: GateValues,
): GateCheckResult {
  const champion = values.champion;
  if (!champion) {
    return {
      name: check.source,
      value,
      threshold: 0,
      passed: true,
      detail: `no champion is serving (${values.missing?.champion ?? "none found"}): passes`,
    };
  }
  const championValue = champion.metrics[key];
  if (championValue === undefined) {
    return {
      name: check.source,
      value,
      threshold: 0,
      passed: true,
      detail: `the champion (${champion.description}) has no ${key} to compare with: passes, not comparable`,
    };
  }
  const threshold = championValue + margin;
  const interval = champion.differences[key];
  if (!interval) {
    const how = champion.rescored ? "re-scored" : "stored metrics, not re-scored on today's points";
    return {
      name: check.source,
      value,
      threshold,
      passed: compare(value, check.comparator, threshold),
      detail: `champion ${key} ${format(championValue)} (${how}); compared as point values, no interval`,
    };
  }
  const verdict = pairedVerdict(check, interval, margin);
  return {
    name: check.source,
    value,
    threshold,
    passed: verdict.passed,
    detail: `challenger − champion ${verdict.detail} (champion ${format(championValue)} re-scored on today's points)`,
  };
}

/**
 * A check judged on a paired interval of differences: a "better than" check needs the interval's
 * worst case to clear the margin; an "at most" check its best case.
 */
function pairedVerdict(
  check: GateCheck,
  interval: { readonly mean: number; readonly lower: number; readonly upper: number; readonly confidence: number },
  margin: number,
): { readonly passed: boolean; readonly detail: string } {
  const bound = check.comparator.startsWith(">") ? interval.lower : interval.upper;
  const side = check.comparator.startsWith(">") ? "lower" : "upper";
  const passed = compare(bound, check.comparator, margin);
  return {
    passed,
    detail:
      `${signed(interval.mean)} (${Math.round(interval.confidence * 100)}% CI ${signed(interval.lower)}..${signed(interval.upper)}); ` +
      comparison(`${side} bound ${signed(bound)}`, check.comparator, `the margin ${signed(margin)}`, passed),
  };
}

/** The strongest baseline by `key`, from the paired figures when the suite computed them. */
function bestBaselineOf(key: string, values: GateValues): BestBaseline | undefined {
  const paired = values.bestBaselines?.[key];
  if (paired) return paired;
  let best: BestBaseline | undefined;
  for (const [name, metrics] of Object.entries(values.baselines) as [BaselineName, Record<string, number>][]) {
    const value = metrics?.[key];
    if (value !== undefined && (!best || value > best.value)) best = { name, value };
  }
  return best;
}

/**
 * A check against the run's strongest baseline by the check's metric, judged like the champion: a
 * "better than" check needs the paired interval's lower bound to clear the margin, so a model that
 * is only as good as V-SkNN on the test day does not pass `hr@20 > best-baseline`.
 */
function bestBaselineCheck(
  check: GateCheck,
  key: string,
  value: number,
  margin: number,
  values: GateValues,
): GateCheckResult {
  const best = bestBaselineOf(key, values);
  if (!best) {
    return {
      name: check.source,
      value,
      threshold: 0,
      passed: false,
      detail: `no baseline has ${key}: ${Object.values(values.missing ?? {}).join("; ") || "none was computed"}`,
    };
  }
  const threshold = best.value + margin;
  if (!best.difference) {
    return {
      name: check.source,
      value,
      threshold,
      passed: compare(value, check.comparator, threshold),
      detail: `${key} ${format(value)} ${check.comparator} best baseline ${best.name} ${format(best.value)} ${signed(margin)} = ${format(threshold)} (point values, no interval)`,
    };
  }
  const verdict = pairedVerdict(check, best.difference, margin);
  return {
    name: check.source,
    value,
    threshold,
    passed: verdict.passed,
    detail: `model − ${best.name} (the best baseline by ${key}, ${format(best.value)}) ${verdict.detail}`,
  };
}

/**
 * Evaluates the gate's checks: the metric on the left is the challenger's; the right is a number,
 * a baseline's value on the same points plus a margin, or the champion (see `championCheck`).
 */
export function evaluateGate(checks: readonly (GateCheck | string)[], values: GateValues): GateEvaluation {
  const parsed = checks.map((check) => (typeof check === "string" ? (parseGate([check])[0] as GateCheck) : check));
  const results = parsed.map((check): GateCheckResult => {
    const key = metricKey(check.metric, check.k);
    const value = values.challenger[key];
    if (value === undefined) {
      return {
        name: check.source,
        value: 0,
        threshold: 0,
        passed: false,
        detail: `${key} was not computed for the model`,
      };
    }
    if (check.operand.kind === "number") {
      const threshold = check.operand.value;
      const passed = compare(value, check.comparator, threshold);
      return {
        name: check.source,
        value,
        threshold,
        passed,
        detail: comparison(`${key} ${format(value)}`, check.comparator, format(threshold), passed),
      };
    }
    const { reference, margin } = check.operand;
    if (reference === "champion") return championCheck(check, key, value, margin, values);
    if (reference === "best-baseline") return bestBaselineCheck(check, key, value, margin, values);
    const baseline = values.baselines[reference]?.[key];
    if (baseline === undefined) {
      return {
        name: check.source,
        value,
        threshold: 0,
        passed: false,
        detail: `the ${reference} baseline has no ${key}: ${values.missing?.[reference] ?? "it was not computed"}`,
      };
    }
    const threshold = baseline + margin;
    const passed = compare(value, check.comparator, threshold);
    return {
      name: check.source,
      value,
      threshold,
      passed,
      detail: comparison(
        `${key} ${format(value)}`,
        check.comparator,
        `${reference} ${format(baseline)} ${signed(margin)} = ${format(threshold)}`,
        passed,
      ),
    };
  });
  const reasons = results
    .filter((result) => !result.passed)
    .map((result) => `${result.name} failed: ${result.detail ?? `${result.value} vs ${result.threshold}`}`);
  return { passed: reasons.length === 0, checks: results, reasons };
}
