import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import type { QueryOptions, QueryStatus, SqlValue, Warehouse } from "../ports/warehouse.ts";

/** `$PMS_HOME/warehouse.duckdb`, `.pms/warehouse.duckdb` in the working directory by default. */
export function defaultWarehousePath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.PMS_HOME && env.PMS_HOME !== "" ? env.PMS_HOME : ".pms", "warehouse.duckdb");
}

export class WarehouseQueryError extends Error {
  override readonly name = "WarehouseQueryError";
}

/** JS values the port accepts, as DuckDB values (a Date binds as a timestamp). */
function toDuckDBValue(value: SqlValue): DuckDBValue {
  if (value instanceof Date) return value.toISOString();
  return value;
}

/**
 * Rows as plain objects with lower-case keys. BIGINT/HUGEINT arrive as bigint; they become numbers
 * when exact, so callers compare them like any other count.
 */
export function plainValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (Array.isArray(value)) return value.map(plainValue);
  return value;
}

function plainRows<Row>(rows: Record<string, unknown>[]): Row[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) out[key.toLowerCase()] = plainValue(value);
    return out as Row;
  });
}

interface BackgroundQuery {
  status: QueryStatus;
  rows: Record<string, unknown>[];
  done: Promise<void>;
}

export interface DuckDBWarehouseOptions {
  /** A file path, or `:memory:`. @default defaultWarehousePath() */
  readonly path?: string;
  /**
   * DuckDB's buffer-pool limit; beyond it, sorts and aggregations spill to disk. DuckDB's own
   * default is 80% of RAM, which lets a 10M-event dbt run grow to many GiB on a laptop that is
   * also training. @default PMS_DUCKDB_MEMORY_LIMIT, else "1GB"
   */
  readonly memoryLimit?: string;
}

/**
 * The local twin's warehouse: an embedded DuckDB file. `start` runs the statement on its own
 * connection in this process and `status` reports it, so the same poll loop as Snowflake's works.
 */
export class DuckDBWarehouse implements Warehouse {
  readonly dialect = "duckdb" as const;
  readonly path: string;
  private readonly memoryLimit: string;
  private instance?: Promise<DuckDBInstance>;
  private connection?: Promise<DuckDBConnection>;
  private readonly background = new Map<string, BackgroundQuery>();

  constructor(options: DuckDBWarehouseOptions = {}) {
    this.path = options.path ?? defaultWarehousePath();
    this.memoryLimit = options.memoryLimit ?? process.env.PMS_DUCKDB_MEMORY_LIMIT ?? "1GB";
  }

  /** Shared per file within the process: DuckDB lets one process open a file for writing. */
  async database(): Promise<DuckDBInstance> {
    this.instance ??= (async () => {
      // Each in-memory warehouse is its own database; a file is opened once per process and shared.
      const settings = { memory_limit: this.memoryLimit };
      if (this.path === ":memory:") return DuckDBInstance.create(":memory:", settings);
      mkdirSync(dirname(this.path), { recursive: true });
      return DuckDBInstance.fromCache(this.path, settings);
    })();
    return this.instance;
  }

  /** The connection `query` uses; statements on it run in order, so BEGIN … COMMIT spans calls. */
  async session(): Promise<DuckDBConnection> {
    this.connection ??= this.database().then((db) => db.connect());
    return this.connection;
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    options: QueryOptions = {},
  ): Promise<Row[]> {
    return plainRows<Row>(await this.runOn(await this.session(), sql, options));
  }

  private async runOn(
    connection: DuckDBConnection,
    sql: string,
    options: QueryOptions,
  ): Promise<Record<string, unknown>[]> {
    try {
      const reader =
        options.binds && options.binds.length > 0
          ? await connection.runAndReadAll(sql, options.binds.map(toDuckDBValue))
          : await connection.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new WarehouseQueryError(`DuckDB (${this.path}): ${message}`, { cause: error });
    }
  }

  async start(sql: string, options: QueryOptions = {}): Promise<string> {
    const id = randomUUID();
    const connection = await (await this.database()).connect();
    const entry: BackgroundQuery = { status: { state: "running" }, rows: [], done: Promise.resolve() };
    entry.done = this.runOn(connection, sql, options).then(
      (rows) => {
        entry.rows = rows;
        entry.status = { state: "succeeded" };
      },
      (error: unknown) => {
        entry.status = { state: "failed", message: error instanceof Error ? error.message : String(error) };
      },
    );
    void entry.done.finally(() => connection.closeSync());
    this.background.set(id, entry);
    return id;
  }

  async status(queryId: string): Promise<QueryStatus> {
    return this.entry(queryId).status;
  }

  async results<Row extends Record<string, unknown> = Record<string, unknown>>(queryId: string): Promise<Row[]> {
    const entry = this.entry(queryId);
    if (entry.status.state !== "succeeded") {
      throw new WarehouseQueryError(`Query ${queryId} has not succeeded (state: ${entry.status.state})`);
    }
    return plainRows<Row>(entry.rows);
  }

  /** Resolves when a background query has finished (succeeded or failed); for the local twin and tests. */
  async wait(queryId: string): Promise<QueryStatus> {
    await this.entry(queryId).done;
    return this.entry(queryId).status;
  }

  private entry(queryId: string): BackgroundQuery {
    const entry = this.background.get(queryId);
    if (!entry) {
      throw new WarehouseQueryError(
        `Unknown DuckDB query id ${queryId}: background queries live in the process that started them`,
      );
    }
    return entry;
  }

  async close(): Promise<void> {
    await Promise.all([...this.background.values()].map((entry) => entry.done));
    if (this.connection) (await this.connection).closeSync();
    this.connection = undefined;
  }
}
