import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import { SESSION_COLUMNS, type SessionRow } from "./training-data.ts";

export class SessionDataError extends Error {
  override readonly name = "SessionDataError";
}

function toNumber(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : Number(value);
}

function toDay(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).slice(0, 10);
}

/** Normalises one Parquet row: warehouses differ in how they type ints, dates and lists. */
export function toSessionRow(raw: Record<string, unknown>, source: string): SessionRow {
  for (const column of SESSION_COLUMNS) {
    if (!(column in raw)) {
      throw new SessionDataError(`${source}: column "${column}" is missing (expected ${SESSION_COLUMNS.join(", ")})`);
    }
  }
  const items = raw.items;
  const list = typeof items === "string" ? (JSON.parse(items) as unknown[]) : (items as unknown[]);
  if (!Array.isArray(list)) throw new SessionDataError(`${source}: column "items" is not a list`);
  return {
    session_id: String(raw.session_id),
    tenant: String(raw.tenant),
    session_start_ms: toNumber(raw.session_start_ms),
    session_date: toDay(raw.session_date),
    items: list.map(String),
    length: toNumber(raw.length),
  };
}

/** Every session of one split: all `.parquet` objects under `prefix`, in part order. */
export async function readSessions(store: ArtifactStore, prefix: string): Promise<SessionRow[]> {
  const parts = (await store.list(prefix)).filter((uri) => uri.endsWith(".parquet"));
  if (parts.length === 0) throw new SessionDataError(`No Parquet files under ${prefix}`);
  const sessions: SessionRow[] = [];
  for (const part of parts) {
    const bytes = await store.get(part);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const columns = new Set(parquetSchema(parquetMetadata(file)).children.map((child) => child.element.name));
    const missing = SESSION_COLUMNS.filter((column) => !columns.has(column));
    if (missing.length > 0) {
      throw new SessionDataError(
        `${part}: missing column(s) ${missing.join(", ")} (expected ${SESSION_COLUMNS.join(", ")})`,
      );
    }
    const rows = (await parquetReadObjects({ file, compressors, columns: [...SESSION_COLUMNS] })) as Record<
      string,
      unknown
    >[];
    for (const row of rows) sessions.push(toSessionRow(row, part));
  }
  return sessions;
}
