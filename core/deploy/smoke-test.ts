import type { SmokeTestResult } from "../pipeline/contracts.ts";
import type { InvocationResponse, ModelHost } from "../ports/model-host.ts";

export interface SmokeTestOptions {
  /** Items asked for per session. @default 20 */
  readonly k?: number;
  /** Sessions sent, as single requests and as one batch. @default 20 */
  readonly sessions?: number;
  /** Single-session requests, after one warm-up request. @default 5 */
  readonly singleRequests?: number;
  /** Median latency a warm endpoint must stay under. @default 1000 */
  readonly p50BudgetMs?: number;
  /** Slowest warm request allowed. @default 5000 */
  readonly maxBudgetMs?: number;
  /** Items the model can recommend at most (training items); lists may be shorter only below it. */
  readonly catalogueSize?: number;
  readonly clock?: () => number;
}

export interface SmokeTestTarget {
  readonly endpointName: string;
  /** The config that must be serving; anything else means the deployment did not stick. */
  readonly endpointConfigName: string;
}

/**
 * Real sessions from the run's test split, prefixes of at least one item (the shopper's history so
 * far), in a stable order so the same run always sends the same requests.
 */
export function smokeTestSessions(
  sessions: readonly { readonly items: readonly string[] }[],
  count: number,
): string[][] {
  return sessions
    .filter((session) => session.items.length >= 2)
    .slice(0, count)
    .map((session) => session.items.slice(0, -1));
}

/**
 * Invokes the endpoint the way a shop would and checks what comes back: the serving config, HTTP
 * success, one list per session, `k` distinct items best-first per list (fewer only when the
 * catalogue is smaller), finite scores, and latency. Problems are collected, not thrown, so the
 * state machine can roll back on `passed: false`.
 */
export async function runSmokeTest(
  host: ModelHost,
  target: SmokeTestTarget,
  sessions: readonly (readonly string[])[],
  options: SmokeTestOptions = {},
): Promise<SmokeTestResult> {
  const k = options.k ?? 20;
  const clock = options.clock ?? (() => performance.now());
  const problems: string[] = [];
  const latencies: number[] = [];

  if (sessions.length === 0) {
    return {
      passed: false,
      sessions: 0,
      latencyMs: { p50: 0, max: 0 },
      problems: ["no test session has two or more items"],
    };
  }
  try {
    const status = await host.status(target.endpointName);
    if (status.status !== "InService" || status.endpointConfigName !== target.endpointConfigName) {
      problems.push(
        `endpoint ${target.endpointName} is ${status.status} serving ${status.endpointConfigName ?? "nothing"}, expected InService serving ${target.endpointConfigName}`,
      );
    }
  } catch (error) {
    problems.push(`reading the endpoint status failed: ${message(error)}`);
  }

  const call = async (batch: readonly (readonly string[])[], label: string, timed: boolean) => {
    const started = clock();
    try {
      const response = await host.invoke(target.endpointName, { sessions: batch, k });
      if (timed) latencies.push(clock() - started);
      problems.push(
        ...checkResponse(response, batch, k, options.catalogueSize).map((problem) => `${label}: ${problem}`),
      );
    } catch (error) {
      problems.push(`${label}: invocation failed: ${message(error)}`);
    }
  };

  const first = sessions[0] ?? [];
  await call([first], "warm-up request", false);
  const singles = Math.min(options.singleRequests ?? 5, sessions.length);
  for (let index = 0; index < singles; index += 1) {
    await call([sessions[index] ?? []], `session ${index + 1}`, true);
  }
  await call(sessions, `batch of ${sessions.length} sessions`, true);

  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = round(sorted[Math.floor((sorted.length - 1) / 2)] ?? 0);
  const max = round(sorted.at(-1) ?? 0);
  const p50Budget = options.p50BudgetMs ?? 1000;
  const maxBudget = options.maxBudgetMs ?? 5000;
  if (latencies.length > 0 && p50 > p50Budget)
    problems.push(`median latency ${p50} ms is over the ${p50Budget} ms budget`);
  if (latencies.length > 0 && max > maxBudget)
    problems.push(`slowest request took ${max} ms, over the ${maxBudget} ms budget`);
  return { passed: problems.length === 0, sessions: sessions.length, latencyMs: { p50, max }, problems };
}

export function checkResponse(
  response: InvocationResponse,
  sessions: readonly (readonly string[])[],
  k: number,
  catalogueSize?: number,
): string[] {
  const problems: string[] = [];
  if (response.recommendations.length !== sessions.length) {
    problems.push(`${response.recommendations.length} recommendation lists for ${sessions.length} sessions`);
  }
  const expected = Math.min(k, catalogueSize ?? k);
  response.recommendations.forEach((list, index) => {
    const where = `session ${index + 1}`;
    if (list.length > k) problems.push(`${where}: ${list.length} items, more than k=${k}`);
    if (list.length < expected) {
      problems.push(
        `${where}: ${list.length} items, expected ${expected} (k=${k}${catalogueSize !== undefined ? `, catalogue ${catalogueSize}` : ""})`,
      );
    }
    if (new Set(list.map((item) => item.sku)).size !== list.length) problems.push(`${where}: repeated items`);
    if (list.some((item) => !Number.isFinite(item.score))) problems.push(`${where}: a score is not a finite number`);
    if (
      list.some(
        (item, position) => position > 0 && item.score > (list[position - 1]?.score ?? Number.POSITIVE_INFINITY),
      )
    ) {
      problems.push(`${where}: items are not ordered best first`);
    }
  });
  return problems;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
