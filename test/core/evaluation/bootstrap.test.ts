import { describe, expect, it } from "vitest";
import { bootstrapMeans, pairedBootstrap, seededRandom } from "../../../core/evaluation/bootstrap.ts";

describe("bootstrap", () => {
  it("is reproducible for a seed and different across seeds", () => {
    const values = Float64Array.from({ length: 200 }, (_, index) => Math.sin(index) ** 2);
    const a = bootstrapMeans([values], { seed: 1 })[0];
    expect(bootstrapMeans([values], { seed: 1 })[0]).toEqual(a);
    expect(bootstrapMeans([values], { seed: 2 })[0]).not.toEqual(a);
  });

  it("covers the mean of a Bernoulli sample with the normal-approximation width", () => {
    // 2,000 hits with p = 0.3: the 95% interval is about ±1.96·sqrt(0.3·0.7/2000) = ±0.0201.
    const random = seededRandom(9);
    const values = Float64Array.from({ length: 2000 }, () => (random() < 0.3 ? 1 : 0));
    const interval = bootstrapMeans([values], { resamples: 2000 })[0];
    expect(interval?.lower).toBeLessThan(interval?.mean ?? 0);
    expect(interval?.upper).toBeGreaterThan(interval?.mean ?? 0);
    const halfWidth = ((interval?.upper ?? 0) - (interval?.lower ?? 0)) / 2;
    const expected = 1.96 * Math.sqrt((0.3 * 0.7) / 2000);
    expect(halfWidth).toBeGreaterThan(expected * 0.85);
    expect(halfWidth).toBeLessThan(expected * 1.15);
  });

  it("gives a zero-width interval for identical paired series and a clear one for a constant gain", () => {
    const a = Float64Array.from({ length: 500 }, (_, index) => index % 2);
    expect(pairedBootstrap(a, a)).toMatchObject({ mean: 0, lower: 0, upper: 0 });
    // b misses exactly where a hits on every fourth point: the difference is 0.25 on every resample… almost.
    const b = a.map((value, index) => (index % 4 === 1 ? 0 : value));
    const difference = pairedBootstrap(a, b);
    expect(difference.mean).toBeCloseTo(0.25, 12);
    expect(difference.lower).toBeGreaterThan(0.2);
    expect(difference.upper).toBeLessThan(0.3);
  });

  it("rejects series of different lengths", () => {
    expect(() => pairedBootstrap([1, 2], [1])).toThrow(/2 vs 1 points/);
  });
});
