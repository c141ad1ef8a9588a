import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import {
  compareProfiles,
  metricsUriOfModel,
  profileData,
  readPreviousProfile,
} from "../../../core/evaluation/profile.ts";
import { wilsonInterval } from "../../../core/evaluation/slices.ts";

const DAY = 86_400_000;
const session = (day: number, items: string[]) => ({ items, session_start_ms: day * DAY + 1000 });

describe("the data profile", () => {
  it("counts sessions per day, session lengths, new items in test and the top items", () => {
    const train = [session(0, ["a", "b"]), session(0, ["a", "c", "a"]), session(1, ["b", "a"])];
    const test = [session(2, ["a", "z"]), session(2, ["y", "y", "b"])];
    const profile = profileData(train, test);
    expect(profile).toMatchObject({ sessions: 5, days: 3, items: 5, medianSessionLength: 2 });
    expect(profile.sessionsPerDay).toBeCloseTo(5 / 3, 10);
    expect(profile.meanSessionLength).toBeCloseTo(12 / 5, 10);
    // Test views: a z y y b; z and y never appear in training.
    expect(profile.newItemShare).toBeCloseTo(3 / 5, 10);
    expect(profile.topItems.slice(0, 3)).toEqual(["a", "b", "y"]);
  });

  it("measures drift against the previous run: relative changes, new-item points, top-item churn", () => {
    const before = profileData([session(0, ["a", "b"]), session(1, ["a", "b"])], [session(1, ["a", "b"])]);
    const now = profileData([session(0, ["c", "d", "a"]), session(0, ["c", "d", "e"])], [session(0, ["x", "c"])]);
    const drift = compareProfiles(now, before, "r-1");
    expect(drift.previousRunId).toBe("r-1");
    expect(drift.sessionsPerDayChange).toBeCloseTo(3 / 1 / (3 / 2) - 1, 10);
    expect(drift.meanSessionLengthChange).toBeCloseTo(8 / 3 / 2 - 1, 10);
    expect(drift.newItemShareChange).toBeCloseTo(0.5 - 0, 10);
    // Top items now: c d a e x; only a was a top item before.
    expect(drift.topItemChurn).toBeCloseTo(4 / 5, 10);
  });

  it("reads the previous run's profile from the metrics.json beside its model, and shrugs when there is none", async () => {
    const root = await mkdtemp(join(tmpdir(), "pms-profile-"));
    const modelUri = join(root, "runs/r-1/model/model.tar.gz");
    expect(metricsUriOfModel(modelUri)).toBe(join(root, "runs/r-1/report/metrics.json"));
    expect(metricsUriOfModel(join(root, "runs/r-1/served-model/model.tar.gz"))).toBe(
      join(root, "runs/r-1/report/metrics.json"),
    );
    const store = new FileSystemArtifactStore();
    expect(await readPreviousProfile(store, modelUri)).toBeUndefined();
    const profile = profileData([session(0, ["a", "b"])], [session(1, ["a", "b"])]);
    await mkdir(join(root, "runs/r-1/report"), { recursive: true });
    await writeFile(join(root, "runs/r-1/report/metrics.json"), JSON.stringify({ runId: "r-1", profile }));
    expect(await readPreviousProfile(store, modelUri)).toEqual({ runId: "r-1", profile });
    expect(await readPreviousProfile(store, "s3://bucket/somewhere/else.tar.gz")).toBeUndefined();
  });
});

describe("wilsonInterval", () => {
  it("matches the textbook values and stays inside [0, 1]", () => {
    const eightOfTen = wilsonInterval(8, 10);
    expect(eightOfTen.lower).toBeCloseTo(0.4902, 3);
    expect(eightOfTen.upper).toBeCloseTo(0.9433, 3);
    expect(wilsonInterval(0, 5).lower).toBe(0);
    expect(wilsonInterval(5, 5).upper).toBe(1);
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
  });
});
