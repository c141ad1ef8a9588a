import type { TimedSession } from "../baselines/sknn.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import { type SessionLike, sessionItems } from "./metrics.ts";

/** What the run's data looked like: enough to see the traffic, the sessions or the catalogue shift between runs. */
export interface DataProfile {
  /** Train + test sessions of the window. */
  readonly sessions: number;
  /** Days with at least one session (from session start times). */
  readonly days: number;
  readonly sessionsPerDay: number;
  readonly meanSessionLength: number;
  readonly medianSessionLength: number;
  /** Distinct items viewed in the window. */
  readonly items: number;
  /** Share of the test split's item views whose item never appears in training: cold items the model cannot know. */
  readonly newItemShare: number;
  /** The most viewed items of the window, most first. */
  readonly topItems: readonly string[];
}

/** This run's profile against the previous run's (the run of the model serving now). */
export interface DataDrift {
  readonly previousRunId?: string;
  readonly previous: DataProfile;
  /** Relative change, e.g. +0.25 = 25% more sessions per day. */
  readonly sessionsPerDayChange: number;
  readonly meanSessionLengthChange: number;
  /** Absolute change of the share, e.g. +0.02 = two points more cold items. */
  readonly newItemShareChange: number;
  /** Share of this run's top items that were not among the previous run's top items. */
  readonly topItemChurn: number;
}

/** How many top items the profile keeps (and churn compares). */
export const TOP_ITEMS = 20;
const DAY_MS = 86_400_000;

function startOf(session: SessionLike): number | undefined {
  if (Array.isArray(session)) return undefined;
  const start = (session as TimedSession).session_start_ms;
  return start === undefined ? undefined : Number(start);
}

export function profileData(trainSessions: readonly TimedSession[], testSessions: readonly SessionLike[]): DataProfile {
  const all: SessionLike[] = [...trainSessions, ...testSessions];
  const lengths = all.map((session) => sessionItems(session).length).sort((a, b) => a - b);
  const days = new Set<number>();
  const views = new Map<string, number>();
  for (const session of all) {
    const start = startOf(session);
    if (start !== undefined && Number.isFinite(start)) days.add(Math.floor(start / DAY_MS));
    for (const item of sessionItems(session)) views.set(item, (views.get(item) ?? 0) + 1);
  }
  const trained = new Set(trainSessions.flatMap((session) => sessionItems(session)));
  let testViews = 0;
  let coldViews = 0;
  for (const session of testSessions)
    for (const item of sessionItems(session)) {
      testViews++;
      if (!trained.has(item)) coldViews++;
    }
  const dayCount = Math.max(1, days.size);
  const total = lengths.reduce((sum, length) => sum + length, 0);
  return {
    sessions: all.length,
    days: days.size,
    sessionsPerDay: all.length / dayCount,
    meanSessionLength: all.length === 0 ? 0 : total / all.length,
    medianSessionLength: lengths.length === 0 ? 0 : (lengths[Math.floor((lengths.length - 1) / 2)] as number),
    items: views.size,
    newItemShare: testViews === 0 ? 0 : coldViews / testViews,
    topItems: [...views]
      .sort(([skuA, a], [skuB, b]) => b - a || (skuA < skuB ? -1 : 1))
      .slice(0, TOP_ITEMS)
      .map(([sku]) => sku),
  };
}

export function compareProfiles(current: DataProfile, previous: DataProfile, previousRunId?: string): DataDrift {
  const relative = (now: number, before: number) => (before === 0 ? 0 : now / before - 1);
  const previousTop = new Set(previous.topItems);
  const churned = current.topItems.filter((sku) => !previousTop.has(sku)).length;
  return {
    ...(previousRunId ? { previousRunId } : {}),
    previous,
    sessionsPerDayChange: relative(current.sessionsPerDay, previous.sessionsPerDay),
    meanSessionLengthChange: relative(current.meanSessionLength, previous.meanSessionLength),
    newItemShareChange: current.newItemShare - previous.newItemShare,
    topItemChurn: current.topItems.length === 0 ? 0 : churned / current.topItems.length,
  };
}

/**
 * Where a model's run wrote its `metrics.json` (and with it, its data profile): runs lay out
 * `<run>/served-model/model.tar.gz` (what serves), `<run>/model/model.tar.gz` (what was evaluated)
 * and `<run>/report/metrics.json` (`runArtifactUris`).
 */
export function metricsUriOfModel(modelUri: string): string | undefined {
  const layout = /\/(served-)?model\/model\.tar\.gz$/;
  return layout.test(modelUri) ? modelUri.replace(layout, "/report/metrics.json") : undefined;
}

/** The `profile` and `runId` a metrics.json carries, when it has one. */
export function profileFromMetricsJson(text: string): { profile: DataProfile; runId?: string } | undefined {
  const parsed = JSON.parse(text) as { profile?: DataProfile; runId?: string };
  if (!parsed.profile || !Array.isArray(parsed.profile.topItems)) return undefined;
  return { profile: parsed.profile, ...(parsed.runId ? { runId: parsed.runId } : {}) };
}

/**
 * The data profile of the run that trained `modelUri` (the champion's), or undefined when its
 * metrics.json is missing, unreadable or older than profiles: drift is reported, never required.
 */
export async function readPreviousProfile(
  store: ArtifactStore,
  modelUri: string,
): Promise<{ profile: DataProfile; runId?: string } | undefined> {
  const uri = metricsUriOfModel(modelUri);
  if (!uri) return undefined;
  try {
    if (!(await store.exists(uri))) return undefined;
    return profileFromMetricsJson(await store.getText(uri));
  } catch {
    return undefined;
  }
}
