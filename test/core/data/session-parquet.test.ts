import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { FileSystemArtifactStore } from "../../../core/artifacts/filesystem.ts";
import { readSessions } from "../../../core/data/session-parquet.ts";

async function writeParquet(path: string, select: string): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run(`COPY (${select}) TO '${path}' (FORMAT PARQUET, COMPRESSION ZSTD)`);
  connection.closeSync();
}

describe("readSessions", () => {
  it("reads DuckDB's Parquet parts (zstd, LIST column) into session rows", async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), "pms-sessions-"));
    await writeParquet(
      join(folder, "part-0.parquet"),
      `SELECT 's1' AS session_id, 't' AS tenant, 1396314000000::BIGINT AS session_start_ms,
              DATE '2014-04-01' AS session_date, ['a', 'b', 'a'] AS items, 3 AS length`,
    );
    await writeParquet(
      join(folder, "part-1.parquet"),
      `SELECT 's2' AS session_id, 't' AS tenant, 1396400400000::BIGINT AS session_start_ms,
              DATE '2014-04-02' AS session_date, ['c', 'd'] AS items, 2 AS length`,
    );
    // Act
    const sessions = await readSessions(new FileSystemArtifactStore(), `${folder}/`);
    // Assess
    expect(sessions).toEqual([
      {
        session_id: "s1",
        tenant: "t",
        session_start_ms: 1396314000000,
        session_date: "2014-04-01",
        items: ["a", "b", "a"],
        length: 3,
      },
      {
        session_id: "s2",
        tenant: "t",
        session_start_ms: 1396400400000,
        session_date: "2014-04-02",
        items: ["c", "d"],
        length: 2,
      },
    ]);
  });

  it("names the missing column", async () => {
    const folder = await mkdtemp(join(tmpdir(), "pms-sessions-"));
    await writeParquet(join(folder, "part-0.parquet"), "SELECT 's1' AS session_id");
    await expect(readSessions(new FileSystemArtifactStore(), `${folder}/`)).rejects.toThrow(
      /missing column\(s\) tenant, session_start_ms/,
    );
  });

  it("fails when the prefix holds no Parquet", async () => {
    const folder = await mkdtemp(join(tmpdir(), "pms-sessions-"));
    await expect(readSessions(new FileSystemArtifactStore(), `${folder}/`)).rejects.toThrow(/No Parquet files under/);
  });
});
