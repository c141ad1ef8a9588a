/**
 * The schema of the Parquet that Extract writes (one row per session, per split) and that training
 * and evaluation read. Column names are lower case in both warehouses' output.
 */
export interface SessionRow {
  readonly session_id: string;
  readonly tenant: string;
  /** Session start, epoch milliseconds (UTC). */
  readonly session_start_ms: number;
  /** YYYY-MM-DD of the session start (UTC). */
  readonly session_date: string;
  /** The product SKUs interacted with, in time order (repeats kept). */
  readonly items: readonly string[];
  readonly length: number;
}

export const SESSION_COLUMNS = ["session_id", "tenant", "session_start_ms", "session_date", "items", "length"] as const;
