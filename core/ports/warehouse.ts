/**
 * SQL against the warehouse: Snowflake in the cloud, DuckDB locally. Long statements are started
 * asynchronously and polled, so a Lambda never waits on a query.
 */
export type SqlValue = string | number | boolean | null | bigint | Date;

export interface QueryOptions {
  readonly binds?: readonly SqlValue[];
  /** Shown in the warehouse's query history (Snowflake QUERY_TAG); carries the execution name. */
  readonly tag?: string;
  /** The warehouse cancels the statement after this long (Snowflake STATEMENT_TIMEOUT_IN_SECONDS). @default the warehouse's own */
  readonly timeoutSeconds?: number;
}

export type QueryStatus =
  | { readonly state: "running" }
  | { readonly state: "succeeded" }
  | { readonly state: "failed"; readonly message: string };

export interface Warehouse {
  readonly dialect: "snowflake" | "duckdb";
  /** Runs one statement and returns its rows as plain objects (lower-case column names). */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    options?: QueryOptions,
  ): Promise<Row[]>;
  /** Starts one statement without waiting for it; returns an id for `status` and `results`. */
  start(sql: string, options?: QueryOptions): Promise<string>;
  status(queryId: string): Promise<QueryStatus>;
  results<Row extends Record<string, unknown> = Record<string, unknown>>(queryId: string): Promise<Row[]>;
  close(): Promise<void>;
}
