import { DuckDBInstance } from "@duckdb/node-api";

/** A session row as Extract unloads it (the columns `readSessions` reads). */
export interface SplitSession {
  readonly session_id: string;
  readonly session_start_ms: number;
  readonly items: readonly string[];
  readonly length: number;
}

/** Runs one statement on a throwaway in-memory DuckDB: how tests write Parquet the way Extract does. */
export async function runDuckdb(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run(sql);
  } finally {
    connection.closeSync();
  }
}

/** Writes `sessions` as one Parquet part of a split, in the schema Extract unloads (tenant `t`). */
export async function writeSplitSessions(path: string, sessions: readonly SplitSession[]): Promise<void> {
  const rows = sessions
    .map(
      (session) =>
        `('${session.session_id}', 't', ${session.session_start_ms}::BIGINT, DATE '2014-04-01', [${session.items.map((item) => `'${item}'`).join(", ")}], ${session.length})`,
    )
    .join(",\n");
  await runDuckdb(
    `COPY (SELECT * FROM (VALUES ${rows}) AS s(session_id, tenant, session_start_ms, session_date, items, length)) TO '${path}' (FORMAT PARQUET)`,
  );
}
