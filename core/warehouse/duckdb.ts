import { randomUUID } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
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

/** The warehouse file is shorter than its own header says: opening it would fail or lose data. */
export class WarehouseFileTruncatedError extends Error {
  override readonly name = "WarehouseFileTruncated";
}

const HEADER_BLOCK_BYTES = 4096;

/**
 * DuckDB reads a database file lazily: a file cut short (a full disk, a copy interrupted) opens
 * and even takes an append, and only a later read of a missing block fails, with the rows written
 * in between lost. Its header says how many blocks the file holds, so the size is checked before
 * DuckDB opens it. The layout is DuckDB's single-file storage (storage format v1+): a main header
 * ("DUCK" at byte 8) then two database headers at 4 KiB and 8 KiB, each
 * `checksum, iteration, meta_block, free_list, block_count, block_alloc_size, …` as 64-bit
 * little-endian values; the one with the higher iteration is current. DuckDB exposes no API for
 * this check, hence these few lines.
 */
export function checkWarehouseFileComplete(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (size === 0) return;
  const restore = "Nothing was written to it. Restore it from a copy, or move it aside and load the data again.";
  const header = Buffer.alloc(3 * HEADER_BLOCK_BYTES);
  const descriptor = openSync(path, "r");
  let read: number;
  try {
    read = readSync(descriptor, header, 0, header.length, 0);
  } finally {
    closeSync(descriptor);
  }
  if (read < header.length || header.toString("latin1", 8, 12) !== "DUCK")
    throw new WarehouseFileTruncatedError(
      `${path} (${size} bytes) is truncated or not a DuckDB database: its header is incomplete. ${restore}`,
    );
  const current = [HEADER_BLOCK_BYTES, 2 * HEADER_BLOCK_BYTES]
    .map((offset) => ({
      iteration: header.readBigUInt64LE(offset + 8),
      blockCount: header.readBigUInt64LE(offset + 32),
      blockBytes: header.readBigUInt64LE(offset + 40),
    }))
    .sort((a, b) => (a.iteration > b.iteration ? -1 : a.iteration < b.iteration ? 1 : 0))[0];
  if (!current) return;
  const expected = BigInt(header.length) + current.blockCount * current.blockBytes;
  // DuckDB cuts free blocks off the end of the file, so a file may hold fewer whole blocks than its
  // header counts; a copy or write cut short ends inside a block instead.
  const endsInsideABlock =
    current.blockBytes > 0n && (BigInt(size) - BigInt(header.length)) % current.blockBytes !== 0n;
  if (BigInt(size) < expected && (BigInt(size) < BigInt(header.length) || endsInsideABlock))
    throw new WarehouseFileTruncatedError(
      `${path} is truncated: its header declares ${current.blockCount} blocks (${expected} bytes), the file has ${size} bytes. ${restore}`,
    );
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
      checkWarehouseFileComplete(this.path);
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
