import { generateKeyPairSync } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  checkExtract,
  ExtractFailedError,
  type ExtractRun,
  InsufficientDataError,
  startExtract,
} from "../../../core/data/extract.ts";
import type { DataManifest } from "../../../core/pipeline/contracts.ts";
import { runArtifactUris } from "../../../core/pipeline/run-context.ts";
import { SnowflakeWarehouse } from "../../../core/warehouse/snowflake.ts";
import { FakeSnowflakeConnection } from "../warehouse/fake-snowflake.ts";
import { MemoryArtifactStore } from "./memory-store.ts";

const sdk = vi.hoisted(() => ({ createConnection: vi.fn() }));
vi.mock("snowflake-sdk", () => ({ default: sdk }));

const PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const RUN: ExtractRun = {
  runId: "2024-01-08-abc",
  executionName: "nightly-2024-01-08",
  window: { start: "2024-01-01", end: "2024-01-07" },
  tenant: "shop-1",
  holdoutDays: 1,
  minSessions: 100,
  uris: runArtifactUris("s3://pms-artifacts", "2024-01-08-abc"),
};
const STATS = [
  {
    SPLIT: "train",
    SESSIONS: 5000,
    EVENTS: 21000,
    FIRST_DAY: "2024-01-01",
    LAST_DAY: "2024-01-06",
    CONTENT: "123",
    ITEMS: 900,
  },
  {
    SPLIT: "validation",
    SESSIONS: 260,
    EVENTS: 1100,
    FIRST_DAY: "2024-01-01",
    LAST_DAY: "2024-01-06",
    CONTENT: "456",
    ITEMS: 220,
  },
  {
    SPLIT: "test",
    SESSIONS: 700,
    EVENTS: 2900,
    FIRST_DAY: "2024-01-07",
    LAST_DAY: "2024-01-07",
    CONTENT: "789",
    ITEMS: 380,
  },
  {
    SPLIT: "all",
    SESSIONS: 5960,
    EVENTS: 25000,
    FIRST_DAY: "2024-01-01",
    LAST_DAY: "2024-01-07",
    CONTENT: "",
    ITEMS: 1000,
  },
];

describe("extract on Snowflake (mocked snowflake-sdk connection)", () => {
  let connection: FakeSnowflakeConnection;
  let warehouse: SnowflakeWarehouse;
  let store: MemoryArtifactStore;
  beforeEach(() => {
    connection = new FakeSnowflakeConnection();
    sdk.createConnection.mockReset();
    sdk.createConnection.mockReturnValue(connection);
    warehouse = new SnowflakeWarehouse({ account: "a", username: "u" }, { key: async () => ({ privateKey: PEM }) });
    store = new MemoryArtifactStore();
  });

  it("starts one asynchronous COPY INTO the external stage, partitioned by split, with binds and the execution tag", async () => {
    // An earlier, failed attempt left a part behind.
    await store.put(`${RUN.uris.data.train}data_old.snappy.parquet`, "stale");
    const state = await startExtract(warehouse, store, RUN, { stage: "PMS.ARTIFACTS_STAGE" });

    expect(state).toEqual({
      queryId: "01b2-query-1",
      status: "running",
      finished: false,
      manifestUri: RUN.uris.data.manifest,
    });
    expect(await store.list(RUN.uris.data.train)).toEqual([]);
    expect(connection.executed).toHaveLength(1);
    const [unload] = connection.executed;
    expect(unload?.asyncExec).toBe(true);
    expect(unload?.parameters).toEqual({ QUERY_TAG: "nightly-2024-01-08" });
    expect(unload?.binds).toEqual([86_400_000, 500, "shop-1", "2024-01-01", "2024-01-07"]);
    const sql = unload?.sqlText.replace(/\s+/g, " ") ?? "";
    // The stage's URL is s3://<bucket>/runs/, the storage integration's allowed location.
    expect(sql).toMatch(/^copy into @PMS\.ARTIFACTS_STAGE\/2024-01-08-abc\/data\/ from \(select /);
    expect(sql).toContain("from training_sessions where tenant = ? and session_date between ?::date and ?::date");
    // Test by time, then validation by a hash of session_id: HASH() is signed, so abs() before the modulo.
    expect(sql).toContain(
      "case when session_start_ms > latest_start_ms - ?::number(18, 0) then 'test' " +
        "when abs(hash(session_id)) % 10000 < ?::number(9, 0) then 'validation' else 'train' end as \"split\"",
    );
    expect(sql).toContain('partition by ("split") file_format = (type = parquet) header = true');
    for (const column of ["session_id", "tenant", "session_start_ms", "session_date", "items", "length"]) {
      expect(sql).toContain(`as "${column}"`);
    }
    // No value of the run is spliced into the query: only the stage path carries the run id.
    const query = sql.slice(sql.indexOf(" from ("));
    expect(query).not.toContain("shop-1");
    expect(query).not.toContain("2024-01-0");
  });

  it("reports running while Snowflake runs the unload, then counts the splits asynchronously, then writes the manifest", async () => {
    // Prepare: the unload runs one poll, then succeeds; the count runs one poll, then succeeds.
    connection.statuses = ["RUNNING", "SUCCESS", "RUNNING", "SUCCESS"];
    connection.rowsFor = (text) => (text.includes("hash_agg") ? STATS : []);
    const at = () => new Date("2024-01-08T03:00:00Z");

    // Act
    const running = await checkExtract(warehouse, store, RUN, { queryId: "q-unload" });
    const counting = await checkExtract(warehouse, store, RUN, running, {}, at);
    const stillCounting = await checkExtract(warehouse, store, RUN, counting, {}, at);
    const done = await checkExtract(warehouse, store, RUN, stillCounting, {}, at);

    // Assess
    expect(running).toEqual({
      queryId: "q-unload",
      status: "running",
      finished: false,
      manifestUri: RUN.uris.data.manifest,
    });
    // A cold warehouse or a big window can make the count outlast the function: it is started, not awaited.
    expect(counting).toMatchObject({ status: "running", finished: false, statisticsQueryId: "01b2-query-1" });
    expect(stillCounting).toMatchObject({ status: "running", statisticsQueryId: "01b2-query-1" });
    expect(done.status).toBe("succeeded");
    expect(connection.statusCalls).toEqual(["q-unload", "q-unload", "01b2-query-1", "01b2-query-1"]);
    const stats = connection.executed.at(-1);
    expect(stats?.asyncExec).toBe(true);
    expect(stats?.binds).toEqual([86_400_000, 500, "shop-1", "2024-01-01", "2024-01-07"]);
    expect(stats?.sqlText).toContain("lateral flatten");
    const manifest = JSON.parse(await store.getText(RUN.uris.data.manifest)) as DataManifest;
    expect(manifest).toEqual(done.manifest);
    expect(manifest.splits.validation).toEqual({
      rows: 260,
      sessions: 260,
      events: 1100,
      items: 220,
      uri: "s3://pms-artifacts/runs/2024-01-08-abc/data/validation/",
      firstDay: "2024-01-01",
      lastDay: "2024-01-06",
    });
    expect(manifest.items).toBe(1000);
    expect(manifest.createdAt).toBe("2024-01-08T03:00:00.000Z");
  });

  it("fails with ExtractFailed carrying Snowflake's message when the unload failed", async () => {
    connection.statuses = ["FAILED_WITH_ERROR"];
    const error = await checkExtract(warehouse, store, RUN, { queryId: "q" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractFailedError);
    expect((error as Error).name).toBe("ExtractFailed");
    expect((error as Error).message).toMatch(/does not exist/);
  });

  it("fails with InsufficientData when the train split is below minSessions", async () => {
    connection.rowsFor = () => STATS.map((row) => (row.SPLIT === "train" ? { ...row, SESSIONS: 42 } : row));
    const counted = { queryId: "q", statisticsQueryId: "stats" };
    await expect(checkExtract(warehouse, store, RUN, counted)).rejects.toThrow(InsufficientDataError);
    await expect(checkExtract(warehouse, store, RUN, counted)).rejects.toThrow(
      /42 training session\(s\) \(those before the last 1 day\(s\) of the window's sessions, less the 5% drawn for validation\), fewer than minSessions=100/,
    );
    expect(await store.exists(RUN.uris.data.manifest)).toBe(false);
  });

  it("fails with InsufficientData when the hash sample drew no validation session", async () => {
    // Prepare
    connection.rowsFor = () => STATS.filter((row) => row.SPLIT !== "validation");

    // Act
    const error = await checkExtract(warehouse, store, RUN, { queryId: "q", statisticsQueryId: "stats" }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as Error).message).toMatch(
      /no validation session \(validation draws 5% of the 5000 session\(s\) before the test span by a hash of session_id; a wider window gives it more to draw from\)/,
    );
    expect((error as Error).message).not.toMatch(/training session|no test session/);
    expect(await store.exists(RUN.uris.data.manifest)).toBe(false);
  });

  it("gives the unload and the count a statement timeout and fails the run past the extract's deadline", async () => {
    // Prepare
    const options = { stage: "PMS.ARTIFACTS_STAGE", timeoutSeconds: 3600 };
    const started = await startExtract(warehouse, store, RUN, options, () => new Date("2024-01-08T02:00:00Z"));
    connection.statuses = ["RUNNING"];

    // Act
    const beforeDeadline = await checkExtract(
      warehouse,
      store,
      RUN,
      started,
      options,
      () => new Date("2024-01-08T02:59:00Z"),
    );
    const error = await checkExtract(
      warehouse,
      store,
      RUN,
      started,
      options,
      () => new Date("2024-01-08T03:00:00Z"),
    ).catch((e: unknown) => e);

    // Assess
    expect(started).toMatchObject({ deadline: "2024-01-08T03:00:00.000Z", redriveCount: 0 });
    expect(connection.executed[0]?.parameters).toEqual({
      QUERY_TAG: "nightly-2024-01-08",
      STATEMENT_TIMEOUT_IN_SECONDS: 3600,
    });
    expect(beforeDeadline).toMatchObject({ status: "running", deadline: "2024-01-08T03:00:00.000Z" });
    expect(error).toBeInstanceOf(ExtractFailedError);
    expect((error as Error).message).toMatch(
      /still running at its deadline 2024-01-08T03:00:00.000Z \(3600 s, snowflake.extractTimeoutMinutes\)/,
    );
  });

  it("gives a redriven execution the extract's whole budget again instead of failing at once", async () => {
    // Prepare: the extract started at 02:00 with an hour; the execution failed and is redriven the next day.
    const options = { stage: "PMS.ARTIFACTS_STAGE", timeoutSeconds: 3600 };
    const started = await startExtract(warehouse, store, RUN, options, () => new Date("2024-01-08T02:00:00Z"));
    connection.statuses = ["RUNNING"];
    const nextDay = () => new Date("2024-01-09T09:00:00Z");

    // Act
    const redriven = await checkExtract(warehouse, store, RUN, started, { ...options, redriveCount: 1 }, nextDay);

    // Assess
    expect(redriven).toMatchObject({ status: "running", deadline: "2024-01-09T10:00:00.000Z", redriveCount: 1 });
    await expect(checkExtract(warehouse, store, RUN, started, options, nextDay)).rejects.toThrow(ExtractFailedError);
  });

  it("refuses a stage name or run path that would have to be spliced unsafely", async () => {
    await expect(startExtract(warehouse, store, RUN, { stage: "s; drop table x" })).rejects.toThrow(
      /not an identifier/,
    );
    await expect(startExtract(warehouse, store, RUN, {})).rejects.toThrow(/SNOWFLAKE_UNLOAD_STAGE/);
    const odd = { ...RUN, uris: runArtifactUris("s3://b", "x' or 1=1") };
    await expect(startExtract(warehouse, store, odd, { stage: "S" })).rejects.toThrow(
      /characters a stage path cannot carry/,
    );
  });
});
