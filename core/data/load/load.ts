import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Warehouse } from "../../ports/warehouse.ts";
import { duckdbString, snowflakeString } from "../../warehouse/sql-literals.ts";
import { ensureRawTables, PRODUCTS_TABLE, RAW_EVENTS_TABLE, RAW_SCHEMA } from "../raw-events.ts";
import { requireTenant } from "../tenant.ts";
import {
  EVENT_LOAD_COLUMNS,
  type LineFormat,
  type LoadFormat,
  type LoadRecord,
  lineFormat,
  PRODUCT_LOAD_COLUMNS,
  RowError,
} from "./formats.ts";

export type BadRowPolicy = "skip" | "abort";

export interface BadRow {
  readonly line: number;
  readonly reason: string;
}

export interface LoadProgress {
  readonly phase: "parse" | "insert" | "done";
  readonly lines: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
}

export interface LoadOptions {
  readonly format: LoadFormat;
  /** The api_key written on every event of formats that carry none (coveo, rsc15). */
  readonly tenant: string;
  /** @default "abort" */
  readonly onBadRow?: BadRowPolicy;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** How many bad rows to keep in the report. @default 10 */
  readonly badRowSamples?: number;
}

export interface LoadResult {
  readonly file: string;
  readonly format: LoadFormat;
  readonly table: string;
  readonly rows: number;
  readonly lines: number;
  readonly badRows: number;
  /** The first few bad rows, with 1-based line numbers. */
  readonly badRowSamples: readonly BadRow[];
  readonly seconds: number;
}

/** The file is not in the format it was loaded as; nothing was written. */
export class LoadFormatError extends Error {
  override readonly name = "LoadFormatError";
}

/** A bad row under `--on-bad-row abort`; nothing was written. */
export class BadRowError extends Error {
  override readonly name = "BadRowError";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}. Nothing was loaded; fix the row or load with --on-bad-row skip.`);
  }
}

/** The file is not UTF-8 at the named line; nothing was written. */
export class InvalidEncodingError extends Error {
  override readonly name = "InvalidEncoding";
  constructor(
    readonly file: string,
    readonly line: number,
  ) {
    super(
      `${file}:${line}: not valid UTF-8. Nothing was loaded; convert the file to UTF-8 (for a Latin-1 export: iconv -f latin1 -t utf-8 ${file} > ${file}.utf8) and load that.`,
    );
  }
}

const LF = 0x0a;

/**
 * The file's lines, decoded as strict UTF-8: readline decodes with replacement characters, which
 * would load Latin-1 "caf\xe9" and "caf\xe8" as the same SKU. The fatal decoder finds the bad byte;
 * the bytes of the line being read are kept so the error can name its line.
 */
export async function* strictUtf8Lines(input: AsyncIterable<Buffer>, file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let completeLines = 0;
  let pending = "";
  let currentLineBytes: Buffer = Buffer.alloc(0);
  const badLine = (bytes: Buffer): number => {
    // The streaming decoder only says the chunk is bad; decoding line by line says where.
    const segments: Buffer[] = [];
    let start = 0;
    for (let index = bytes.indexOf(LF); index !== -1; index = bytes.indexOf(LF, start)) {
      segments.push(bytes.subarray(start, index));
      start = index + 1;
    }
    const strict = new TextDecoder("utf-8", { fatal: true });
    const bad = segments.findIndex((segment) => {
      try {
        strict.decode(segment);
        return false;
      } catch {
        return true;
      }
    });
    return completeLines + 1 + (bad === -1 ? segments.length : bad);
  };
  const split = function* (text: string): Generator<string> {
    pending += text;
    let start = 0;
    for (let index = pending.indexOf("\n"); index !== -1; index = pending.indexOf("\n", start)) {
      const line = pending.slice(start, index);
      completeLines++;
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
      start = index + 1;
    }
    pending = pending.slice(start);
  };
  for await (const chunk of input) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new InvalidEncodingError(file, badLine(Buffer.concat([currentLineBytes, chunk])));
    }
    const lastBreak = chunk.lastIndexOf(LF);
    currentLineBytes = lastBreak === -1 ? Buffer.concat([currentLineBytes, chunk]) : chunk.subarray(lastBreak + 1);
    yield* split(text);
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new InvalidEncodingError(file, completeLines + 1);
  }
  yield* split(rest);
  if (pending !== "") yield pending.endsWith("\r") ? pending.slice(0, -1) : pending;
}

const PROGRESS_EVERY_LINES = 200_000;

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

async function write(stream: WriteStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once("drain", resolve));
}

/**
 * Loads a click log or catalog into the warehouse's raw tables. The file is streamed line by line
 * (constant memory) and validated into a normalised CSV in a temporary folder; only when the whole
 * file has passed does one INSERT … SELECT move it in (DuckDB reads the CSV with its parallel
 * reader; Snowflake gets it by PUT to the table stage and COPY INTO). So a wrong format or an
 * aborting bad row leaves the warehouse untouched, and a load is all or nothing.
 */
export async function loadFile(warehouse: Warehouse, file: string, options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const policy = options.onBadRow ?? "abort";
  const samples = options.badRowSamples ?? 10;
  // Formats without an api_key column write this one on every row; the events format checks each row's own.
  if (options.format !== "events" && options.format !== "coveo-catalog") requireTenant(options.tenant, "--tenant");
  const format = lineFormat(options.format, options.tenant);
  const totalBytes = (await stat(file)).size;
  const folder = await mkdtemp(join(tmpdir(), "pms-load-"));
  const normalised = join(folder, "rows.csv");
  const loadId = randomUUID();
  try {
    const out = createWriteStream(normalised);
    const input = createReadStream(file);
    const lines = strictUtf8Lines(input, file);
    let lineNumber = 0;
    let rows = 0;
    let badRows = 0;
    const badRowSamples: BadRow[] = [];
    let firstLine = true;
    let buffer = "";
    for await (const raw of lines) {
      lineNumber++;
      // Spreadsheet exports start with a byte-order mark; it is not part of the first column's name.
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (line.trim() === "") continue;
      if (firstLine) {
        firstLine = false;
        let isHeader: boolean;
        try {
          isHeader = format.inspectFirstLine(line);
        } catch (error) {
          throw new LoadFormatError(`${file}: ${(error as Error).message}`, { cause: error });
        }
        if (isHeader) continue;
      }
      let record: LoadRecord;
      try {
        record = format.parse(line);
      } catch (error) {
        if (!(error instanceof RowError)) throw error;
        if (policy === "abort") throw new BadRowError(file, lineNumber, error.message);
        badRows++;
        if (badRowSamples.length < samples) badRowSamples.push({ line: lineNumber, reason: error.message });
        continue;
      }
      // Rows without an etl_id get the load's id and their line: unique, and cheaper than a UUID per row.
      if (format.target === "events" && record[0] === "") buffer += `${loadId}-${lineNumber}`;
      buffer += `${record.map(csvField).join(",")}\n`;
      rows++;
      if (buffer.length > 1 << 20) {
        await write(out, buffer);
        buffer = "";
      }
      if (lineNumber % PROGRESS_EVERY_LINES === 0) {
        options.onProgress?.({ phase: "parse", lines: lineNumber, bytesRead: input.bytesRead, totalBytes });
      }
    }
    await write(out, buffer);
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    if (firstLine) throw new LoadFormatError(`${file} is empty: nothing to load`);
    if (rows === 0 && badRows === 0) throw new LoadFormatError(`${file} has a header but no rows: nothing to load`);
    if (rows === 0) {
      throw new LoadFormatError(
        `${file}: none of its ${badRows} row(s) is a valid ${options.format} row (first: line ${badRowSamples[0]?.line}: ${badRowSamples[0]?.reason}); is it the right --format?`,
      );
    }
    options.onProgress?.({ phase: "insert", lines: lineNumber, bytesRead: totalBytes, totalBytes });
    await ensureRawTables(warehouse);
    const table = await insertNormalised(warehouse, format, normalised, new Date());
    options.onProgress?.({ phase: "done", lines: lineNumber, bytesRead: totalBytes, totalBytes });
    return {
      file,
      format: options.format,
      table,
      rows,
      lines: lineNumber,
      badRows,
      badRowSamples,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function insertNormalised(
  warehouse: Warehouse,
  format: LineFormat,
  file: string,
  loadedAt: Date,
): Promise<string> {
  const statements =
    warehouse.dialect === "duckdb" ? duckdbInsert(format.target, file) : snowflakeInsert(format.target, file);
  const table = format.target === "events" ? RAW_EVENTS_TABLE : PRODUCTS_TABLE;
  for (const statement of statements.prepare) await warehouse.query(statement);
  try {
    const loadTime = loadedAt.toISOString().replace("T", " ").replace("Z", "");
    await warehouse.query(statements.insert, {
      binds: Array.from({ length: statements.loadTimeBinds }, () => loadTime),
    });
  } finally {
    for (const statement of statements.cleanup) await warehouse.query(statement);
  }
  return table;
}

interface InsertStatements {
  readonly prepare: readonly string[];
  /** One statement (atomic on its own); its parameters are all the load time. */
  readonly insert: string;
  readonly loadTimeBinds: number;
  readonly cleanup: readonly string[];
}

function duckdbColumns(columns: readonly string[]): string {
  return `{${columns.map((column) => `'${column}': 'VARCHAR'`).join(", ")}}`;
}

/** DuckDB: the whole normalised file in one INSERT … SELECT over its parallel CSV reader. */
export function duckdbInsert(target: LineFormat["target"], file: string): InsertStatements {
  const columns = target === "events" ? EVENT_LOAD_COLUMNS : PRODUCT_LOAD_COLUMNS;
  const source = `read_csv(${duckdbString(file)}, header = false, delim = ',', quote = '"', escape = '"', columns = ${duckdbColumns(columns)})`;
  if (target === "products") {
    return {
      prepare: [],
      insert: `insert or replace into ${PRODUCTS_TABLE}
        select distinct on (sku) sku, category_hash, cast(price_bucket as integer),
          cast(description_vector as double[]), cast(image_vector as double[]), cast($1 as timestamp)
        from ${source}`,
      loadTimeBinds: 1,
      cleanup: [],
    };
  }
  return {
    prepare: [],
    insert: `insert into ${RAW_EVENTS_TABLE}
      select
        coalesce(etl_id, cast(uuid() as varchar)),
        coalesce(cast(etl_timestamp as timestamp), cast($1 as timestamp)),
        api_key,
        event_type,
        cast(epoch_ms(cast(server_timestamp_epoch_ms as bigint)) as date),
        json_object(
          'session_id', session_id,
          'product_sku', product_sku,
          'product_action', product_action,
          'server_timestamp_epoch_ms', cast(server_timestamp_epoch_ms as bigint),
          'hashed_url', hashed_url,
          'event_type', event_type
        )
      from ${source}`,
    loadTimeBinds: 1,
    cleanup: [],
  };
}

/**
 * Snowflake: PUT the normalised file to the raw table's stage, COPY it into a temporary table,
 * then one INSERT … SELECT builds the contract's VARIANT — so the raw table sees all rows or none.
 */
export function snowflakeInsert(target: LineFormat["target"], file: string): InsertStatements {
  const id = randomUUID().replaceAll("-", "");
  const columns = target === "events" ? EVENT_LOAD_COLUMNS : PRODUCT_LOAD_COLUMNS;
  const loadTable = `${RAW_SCHEMA}.pms_load_${id}`;
  const tableStage = `@${RAW_SCHEMA}.%${target === "events" ? "events" : "products"}/pms-load-${id}/`;
  const prepare = [
    `create temporary table ${loadTable} (${columns.map((column) => `${column} varchar`).join(", ")})`,
    `put ${snowflakeString(`file://${file}`)} ${tableStage} auto_compress = true overwrite = true`,
    `copy into ${loadTable} from ${tableStage}
      file_format = (type = csv field_optionally_enclosed_by = '"' empty_field_as_null = true)
      on_error = abort_statement purge = true`,
  ];
  const insert =
    target === "events"
      ? `insert into ${RAW_EVENTS_TABLE} (etl_id, etl_timestamp, api_key, event_type, event_date, raw_data)
      select
        coalesce(etl_id, uuid_string()),
        coalesce(to_timestamp_ntz(etl_timestamp), to_timestamp_ntz(?)),
        api_key,
        event_type,
        to_date(to_timestamp_ntz(to_number(server_timestamp_epoch_ms), 3)),
        object_construct(
          'session_id', session_id,
          'product_sku', product_sku,
          'product_action', product_action,
          'server_timestamp_epoch_ms', to_number(server_timestamp_epoch_ms),
          'hashed_url', hashed_url,
          'event_type', event_type
        )
      from ${loadTable}`
      : `merge into ${PRODUCTS_TABLE} as products
      using (
        select sku, category_hash, to_number(price_bucket) as price_bucket,
          parse_json(description_vector)::array as description_vector,
          parse_json(image_vector)::array as image_vector
        from ${loadTable}
        qualify row_number() over (partition by sku order by sku) = 1
      ) as loaded on products.sku = loaded.sku
      when matched then update set category_hash = loaded.category_hash, price_bucket = loaded.price_bucket,
        description_vector = loaded.description_vector, image_vector = loaded.image_vector,
        etl_timestamp = to_timestamp_ntz(?)
      when not matched then insert (sku, category_hash, price_bucket, description_vector, image_vector, etl_timestamp)
        values (loaded.sku, loaded.category_hash, loaded.price_bucket, loaded.description_vector,
          loaded.image_vector, to_timestamp_ntz(?))`;
  return {
    prepare,
    insert,
    loadTimeBinds: target === "events" ? 1 : 2,
    cleanup: [`drop table if exists ${loadTable}`],
  };
}
