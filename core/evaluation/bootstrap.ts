/**
 * Percentile bootstrap of means, with one seeded resampling shared by every series so that
 * intervals of different recommenders (and of their paired differences) come from the same draws.
 * Hand-written: the statistics packages on npm either lack seeding or pull in a whole dataframe.
 */

export interface Interval {
  readonly mean: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
}

export interface BootstrapOptions {
  /** @default 1000 */
  readonly resamples?: number;
  /** @default 0.95 */
  readonly confidence?: number;
  /** @default 42 */
  readonly seed?: number;
}

/** mulberry32: a small, fast, well-distributed 32-bit generator; enough for resampling. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const weight = position - below;
  return (sorted[below] as number) * (1 - weight) + (sorted[above] as number) * weight;
}

/** A 95% (by default) interval of the mean of each series; every series must have the same length. */
export function bootstrapMeans(series: readonly ArrayLike<number>[], options: BootstrapOptions = {}): Interval[] {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const n = series[0]?.length ?? 0;
  for (const values of series) {
    if (values.length !== n) throw new Error(`bootstrap: series of different lengths (${values.length} vs ${n})`);
  }
  const means = series.map((values) => {
    let sum = 0;
    for (let index = 0; index < n; index++) sum += values[index] as number;
    return n === 0 ? Number.NaN : sum / n;
  });
  if (n === 0) return means.map((mean) => ({ mean, lower: mean, upper: mean, confidence }));
  const random = seededRandom(options.seed ?? 42);
  // One index draw per resample, shared by every series; then a tight gather loop per series.
  const typed = series.map((values) => (values instanceof Float64Array ? values : Float64Array.from(values)));
  const indices = new Int32Array(n);
  const draws = series.map(() => new Float64Array(resamples));
  for (let resample = 0; resample < resamples; resample++) {
    for (let draw = 0; draw < n; draw++) indices[draw] = (random() * n) | 0;
    for (let s = 0; s < typed.length; s++) {
      const values = typed[s] as Float64Array;
      let sum = 0;
      for (let draw = 0; draw < n; draw++) sum += values[indices[draw] as number] as number;
      (draws[s] as Float64Array)[resample] = sum / n;
    }
  }
  const tail = (1 - confidence) / 2;
  return draws.map((values, s) => {
    values.sort();
    return { mean: means[s] as number, lower: quantile(values, tail), upper: quantile(values, 1 - tail), confidence };
  });
}

/** Per-point differences `a[i] - b[i]`: the series whose bootstrap is the paired comparison of a and b. */
export function pairedDifferences(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) throw new Error(`paired bootstrap: ${a.length} vs ${b.length} points`);
  const differences = new Float64Array(a.length);
  for (let index = 0; index < a.length; index++) differences[index] = (a[index] as number) - (b[index] as number);
  return differences;
}

/** Interval of mean(a − b) over the same points: the champion/challenger comparison. */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions = {}): Interval {
  return bootstrapMeans([pairedDifferences(a, b)], options)[0] as Interval;
}
