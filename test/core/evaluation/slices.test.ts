import { describe, expect, it } from "vitest";
import { testPoints } from "../../../core/evaluation/metrics.ts";
import {
  attributeSlice,
  hitsBySlice,
  popularityDecileSlice,
  sessionLengthSlice,
} from "../../../core/evaluation/slices.ts";

describe("slices", () => {
  it("buckets points by session length and computes HR@k per bucket and recommender", () => {
    // Points: a→b (length 2), c→d, d→e (length 3).
    const points = testPoints([
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    const rows = hitsBySlice(points, new Map([["model", [0, 5, -1]]]), 3, [sessionLengthSlice()]);
    expect(rows).toEqual([
      { slice: "session length", bucket: "2", points: 1, hitRate: { model: 1 } },
      { slice: "session length", bucket: "3–4", points: 2, hitRate: { model: 0 } },
    ]);
  });

  it("puts tied counts in one decile and unseen targets in their own bucket", () => {
    // Ten items: eight with one click, then counts 5 and 9.
    const counts = new Map<string, number>([
      ...Array.from({ length: 8 }, (_, index): [string, number] => [`tail${index}`, 1]),
      ["mid", 5],
      ["top", 9],
    ]);
    const slice = popularityDecileSlice(counts);
    const bucket = (target: string) => slice.bucketOf({ session: 0, prefix: ["x"], target, sessionLength: 2 });
    expect(bucket("top")).toBe("10");
    expect(bucket("mid")).toBe("9");
    expect(bucket("tail0")).toBe(bucket("tail7"));
    expect(bucket("tail0")).toBe("4");
    expect(bucket("never")).toBe("unseen");
  });

  it("slices by a product column, grouping rare values and unknown products", () => {
    const attributes = new Map([
      ["a", { category: "shoes" }],
      ["b", { category: "shoes" }],
      ["c", { category: "hats" }],
      ["d", { category: "socks" }],
    ]);
    const slice = attributeSlice("category", attributes, 2);
    const bucket = (target: string) => slice.bucketOf({ session: 0, prefix: ["x"], target, sessionLength: 2 });
    expect(bucket("a")).toBe("shoes");
    expect(bucket("c")).toBe("other");
    expect(bucket("zzz")).toBe("unknown");
  });
});
