/**
 * The champion is the model serving shoppers now. The Evaluate stage finds it through this port,
 * re-scores it on today's test points when its artifact can be loaded, and otherwise falls back to
 * the metrics stored with it.
 */
export interface Champion {
  /** Where its `model.tar.gz` lives, when known. */
  readonly modelUri?: string;
  /** Metrics recorded when it was evaluated (keys `hr@20`, `mrr@20`, …), when known. */
  readonly storedMetrics?: Readonly<Record<string, number>>;
  /** Human-readable origin, e.g. `endpoint pms-recommender → model pms-3f2a (s3://…/model.tar.gz)`. */
  readonly description: string;
}

export interface ChampionSource {
  /** The model serving now, or undefined when nothing serves yet. */
  findChampion(): Promise<Champion | undefined>;
}

/** Pulls `hr@k`-style numbers out of a metrics map whose values may be strings (SageMaker metadata). */
export function metricsFromRecord(record: Readonly<Record<string, unknown>> | undefined): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [key, raw] of Object.entries(record ?? {})) {
    if (!/^[a-zA-Z]+@\d+$/.test(key)) continue;
    const value = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
    if (Number.isFinite(value)) metrics[key] = value;
  }
  return metrics;
}

/**
 * The challenger's metrics from a `metrics.json` this stage wrote earlier: how a champion's stored
 * metrics are read back when its registry entry points at its evaluation.
 */
export function metricsFromMetricsJson(text: string): Record<string, number> {
  const parsed = JSON.parse(text) as { challenger?: { metrics?: Record<string, unknown> }; metrics?: unknown };
  if (parsed.challenger?.metrics) return metricsFromRecord(parsed.challenger.metrics);
  return metricsFromRecord(parsed as Record<string, unknown>);
}

/**
 * The local twin's champion: the model its local endpoint serves (a model URI, with the metrics.json
 * of its evaluation when known), or none. Also how a test stands a known model in as the champion.
 */
export class LocalChampionSource implements ChampionSource {
  constructor(
    private readonly champion?: Champion & { readonly metricsUri?: string },
    private readonly store?: { getText(uri: string): Promise<string> },
  ) {}

  async findChampion(): Promise<Champion | undefined> {
    if (!this.champion) return undefined;
    const { metricsUri, ...champion } = this.champion;
    if (!metricsUri || !this.store || champion.storedMetrics) return champion;
    try {
      return { ...champion, storedMetrics: metricsFromMetricsJson(await this.store.getText(metricsUri)) };
    } catch {
      // Without its metrics the champion can still be re-scored from its artifact.
      return champion;
    }
  }
}
