import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { championForTestSpan } from "../../../core/evaluation/champion.ts";

const store = new FileSystemArtifactStore();
let runs: string;

/** A finished run's folder: its manifest's split days, and which model archives it kept. */
async function championRun(
  runId: string,
  days: { train: string; validation: string; test: readonly [string, string] },
  archives: readonly ("model" | "served-model")[] = ["model", "served-model"],
): Promise<string> {
  const folder = `${runs}/${runId}`;
  const split = (firstDay: string, lastDay: string) => ({ firstDay, lastDay, sessions: 10 });
  await store.put(
    `${folder}/data/manifest.json`,
    JSON.stringify({
      splits: {
        train: split("2014-04-01", days.train),
        validation: split("2014-04-01", days.validation),
        test: split(...days.test),
      },
    }),
  );
  for (const archive of archives) await store.put(`${folder}/${archive}/model.tar.gz`, "archive");
  return folder;
}

beforeEach(async () => {
  runs = join(await mkdtemp(join(tmpdir(), "pms-champion-")), "runs");
});

describe("championForTestSpan", () => {
  it("re-scores the serving model when its window ended before today's test span", async () => {
    // Prepare
    const folder = await championRun("r0", {
      train: "2014-04-05",
      validation: "2014-04-05",
      test: ["2014-04-06", "2014-04-06"],
    });

    // Act
    const scoring = await championForTestSpan(store, `${folder}/served-model/model.tar.gz`, "2014-04-07");

    // Assess
    expect(scoring).toEqual({ modelUri: `${folder}/served-model/model.tar.gz` });
  });

  it("re-scores the run's evaluated model when the serving one learned from today's test day", async () => {
    // Prepare: the same window run twice; the served model learned from the test day itself.
    const folder = await championRun("r0", {
      train: "2014-04-06",
      validation: "2014-04-06",
      test: ["2014-04-07", "2014-04-07"],
    });

    // Act
    const scoring = await championForTestSpan(store, `${folder}/served-model/model.tar.gz`, "2014-04-07");

    // Assess
    expect(scoring.modelUri).toBe(`${folder}/model/model.tar.gz`);
    expect(scoring.note).toMatch(/evaluated model is re-scored: .* through 2014-04-07, into today's test span/);
  });

  it("re-scores the evaluated model when the test span is cut inside a day, as the local extract does", async () => {
    // Prepare: the last 24 hours are the test span, so training and test share their first day.
    const folder = await championRun("r0", {
      train: "2014-04-06",
      validation: "2014-04-05",
      test: ["2014-04-06", "2014-04-07"],
    });

    // Act
    const scoring = await championForTestSpan(store, `${folder}/served-model/model.tar.gz`, "2014-04-06");

    // Assess
    expect(scoring.modelUri).toBe(`${folder}/model/model.tar.gz`);
  });

  it("re-scores nothing when even the evaluated model learned from today's test span", async () => {
    // Prepare: a later window than today's: its training days cover today's test day.
    const folder = await championRun("r0", {
      train: "2014-04-08",
      validation: "2014-04-08",
      test: ["2014-04-09", "2014-04-09"],
    });

    // Act
    const served = await championForTestSpan(store, `${folder}/served-model/model.tar.gz`, "2014-04-07");
    const evaluated = await championForTestSpan(store, `${folder}/model/model.tar.gz`, "2014-04-07");

    // Assess
    for (const scoring of [served, evaluated]) {
      expect(scoring.modelUri).toBeUndefined();
      expect(scoring.note).toMatch(
        /learned from days (through|up to) 2014-04-09, (into|past the start of) today's test span \((from )?2014-04-07\)/,
      );
    }
  });

  it("re-scores nothing when the evaluated archive is gone", async () => {
    // Prepare
    const folder = await championRun(
      "r0",
      { train: "2014-04-06", validation: "2014-04-06", test: ["2014-04-07", "2014-04-07"] },
      ["served-model"],
    );

    // Act
    const scoring = await championForTestSpan(store, `${folder}/served-model/model.tar.gz`, "2014-04-07");

    // Assess
    expect(scoring.modelUri).toBeUndefined();
  });

  it("scores a model outside the run layout, or of a run without a manifest, as it is", async () => {
    // Prepare
    const bare = `${runs}/r1/served-model/model.tar.gz`;
    await store.put(bare, "archive");

    // Act / Assess
    expect(await championForTestSpan(store, "/models/handmade.tar.gz", "2014-04-07")).toEqual({
      modelUri: "/models/handmade.tar.gz",
    });
    expect(await championForTestSpan(store, bare, "2014-04-07")).toEqual({ modelUri: bare });
    expect(await championForTestSpan(store, bare, null)).toEqual({ modelUri: bare });
  });
});
