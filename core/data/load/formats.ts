import { z } from "zod";
import { EVENT_TYPES, PRODUCT_ACTIONS } from "../raw-events.ts";
import { TENANT_PATTERN, TENANT_RULE } from "../tenant.ts";
import { epochMsProblem, isCalendarDate } from "../time-policy.ts";

export const LOAD_FORMATS = ["coveo", "coveo-catalog", "rsc15", "events"] as const;
export type LoadFormat = (typeof LOAD_FORMATS)[number];

/** A row the loader rejects; `reason` names the column and what is wrong with it. */
export class RowError extends Error {
  override readonly name = "RowError";
}

/**
 * One event in the normalised load file, in `EVENT_LOAD_COLUMNS` order. `etl_id` and
 * `etl_timestamp` are empty unless the input carried them (the `events` format): the warehouse fills
 * them in at insert time.
 */
export const EVENT_LOAD_COLUMNS = [
  "etl_id",
  "etl_timestamp",
  "api_key",
  "event_type",
  "session_id",
  "product_sku",
  "product_action",
  "server_timestamp_epoch_ms",
  "hashed_url",
] as const;
export const PRODUCT_LOAD_COLUMNS = [
  "sku",
  "category_hash",
  "price_bucket",
  "description_vector",
  "image_vector",
] as const;

export type LoadRecord = readonly string[];

export interface LineFormat {
  readonly name: LoadFormat;
  readonly target: "events" | "products";
  /**
   * Checks the first line: returns true when it is a header to skip, false when it is data, and throws
   * a message when the file is not in this format at all.
   */
  inspectFirstLine(line: string): boolean;
  parse(line: string): LoadRecord;
}

/**
 * Splits one CSV line (RFC 4180 quoting, `""` inside quotes). Written by hand because the loader
 * needs per-line errors with line numbers while streaming, and every input here is one record per line.
 */
export function splitCsvLine(line: string, delimiter = ","): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += char;
    } else if (char === '"' && field === "") quoted = true;
    else if (char === delimiter) {
      fields.push(field);
      field = "";
    } else field += char;
  }
  if (quoted) throw new RowError("unterminated quoted field");
  fields.push(field);
  return fields;
}

function requireColumns(fields: readonly string[], expected: readonly string[]): void {
  if (fields.length !== expected.length) {
    throw new RowError(`expected ${expected.length} columns (${expected.join(", ")}), found ${fields.length}`);
  }
}

function checkHeader(fields: readonly string[], expected: readonly string[], format: string): boolean {
  const names = fields.map((field) => field.trim().toLowerCase());
  if (names.join(",") === expected.map((name) => name.toLowerCase()).join(",")) return true;
  const looksLikeHeader = names.some((name) => expected.some((column) => column.toLowerCase() === name));
  if (looksLikeHeader || fields.length !== expected.length) {
    throw new RowError(
      `not a ${format} file: the first line has columns [${fields.join(", ")}], expected [${expected.join(", ")}]`,
    );
  }
  return false;
}

const EPOCH_MS_PATTERN = /^\d{9,14}$/;

function epochMs(value: string, column: string): string {
  const trimmed = value.trim();
  if (!EPOCH_MS_PATTERN.test(trimmed)) {
    throw new RowError(`${column} "${value}" is not an epoch time in milliseconds`);
  }
  return plausibleMs(Number(trimmed), column);
}

/** Every format's times pass the one date policy (core/data/time-policy.ts), as a per-row error. */
function plausibleMs(ms: number, column: string): string {
  const problem = epochMsProblem(ms);
  if (problem) throw new RowError(`${column} ${problem}`);
  return String(ms);
}

const ACTIONS = new Set<string>(PRODUCT_ACTIONS);
const TYPES = new Set<string>(EVENT_TYPES);

function eventType(value: string): string {
  if (!TYPES.has(value)) throw new RowError(`event_type "${value}" is not one of ${EVENT_TYPES.join(", ")}`);
  return value;
}

function productAction(value: string, sku: string): string {
  if (value === "") return "";
  if (!ACTIONS.has(value)) {
    throw new RowError(`product_action "${value}" is not one of ${PRODUCT_ACTIONS.join(", ")} (or empty)`);
  }
  if (sku === "") throw new RowError(`product_action "${value}" needs a product_sku_hash, which is empty`);
  return value;
}

export const COVEO_COLUMNS = [
  "session_id_hash",
  "event_type",
  "product_action",
  "product_sku_hash",
  "server_timestamp_epoch_ms",
  "hashed_url",
] as const;

function coveoFormat(tenant: string): LineFormat {
  return {
    name: "coveo",
    target: "events",
    inspectFirstLine: (line) => checkHeader(splitCsvLine(line), COVEO_COLUMNS, "coveo (browsing_train.csv)"),
    parse(line) {
      const fields = splitCsvLine(line);
      requireColumns(fields, COVEO_COLUMNS);
      const [session, type, action, sku, timestamp, url] = fields as [string, string, string, string, string, string];
      if (session === "") throw new RowError("session_id_hash is empty");
      return [
        "",
        "",
        tenant,
        eventType(type),
        session,
        sku,
        productAction(action, sku),
        epochMs(timestamp, "server_timestamp_epoch_ms"),
        url,
      ];
    },
  };
}

export const RSC15_COLUMNS = ["SessionId", "ItemId", "Time"] as const;

/** RecSys 2015 times: epoch seconds (with a fraction) as in the preprocessed logs, or ISO-8601 as in the original. */
export function rsc15TimeToMs(value: string): number {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const day = /^(\d{4}-\d{2}-\d{2})T/.exec(trimmed)?.[1];
  if (day) {
    // Date.parse rolls 2014-02-30 over to March: the day must be one the calendar has.
    if (!isCalendarDate(day)) throw new RowError(`Time "${value}": ${day} is not a calendar date`);
    const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new RowError(`Time "${value}" is neither epoch seconds nor an ISO-8601 time`);
}

function rsc15Format(tenant: string): LineFormat {
  let delimiter = "\t";
  return {
    name: "rsc15",
    target: "events",
    inspectFirstLine(line) {
      delimiter = line.includes("\t") ? "\t" : ",";
      return checkHeader(line.split(delimiter), RSC15_COLUMNS, "rsc15 (SessionId, ItemId, Time)");
    },
    parse(line) {
      const fields = line.split(delimiter);
      requireColumns(fields, RSC15_COLUMNS);
      const [session, item, time] = fields.map((field) => field.trim()) as [string, string, string];
      if (session === "") throw new RowError("SessionId is empty");
      if (item === "") throw new RowError("ItemId is empty");
      // A click in RecSys 2015 is a product view: the same meaning as Coveo's "detail".
      return ["", "", tenant, "event_product", session, item, "detail", plausibleMs(rsc15TimeToMs(time), "Time"), ""];
    },
  };
}

const RawEventLineSchema = z
  .object({
    etl_id: z.string().min(1).optional(),
    etl_timestamp: z.iso.datetime({ offset: true, local: true }).optional(),
    api_key: z.string().regex(TENANT_PATTERN, `must be ${TENANT_RULE}`),
    event_type: z.enum(EVENT_TYPES),
    event_date: z.iso.date().optional(),
    raw_data: z.object({
      session_id: z.string().min(1),
      product_sku: z.string().nullish(),
      product_action: z.union([z.enum(PRODUCT_ACTIONS), z.literal("")]).nullish(),
      server_timestamp_epoch_ms: z.union([z.number().int().nonnegative(), z.string().regex(EPOCH_MS_PATTERN)]),
      hashed_url: z.string().nullish(),
      event_type: z.enum(EVENT_TYPES).optional(),
    }),
  })
  .strict();

function eventsFormat(): LineFormat {
  const parse = (line: string): LoadRecord => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new RowError("not valid JSON");
    }
    const result = RawEventLineSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new RowError(`${issue?.path.join(".") || "(row)"}: ${issue?.message ?? "invalid"}`);
    }
    const row = result.data;
    const data = row.raw_data;
    const sku = data.product_sku ?? "";
    const ms = plausibleMs(Number(data.server_timestamp_epoch_ms), "raw_data.server_timestamp_epoch_ms");
    if (row.event_date && row.event_date !== new Date(Number(ms)).toISOString().slice(0, 10)) {
      throw new RowError(`event_date ${row.event_date} is not the UTC date of server_timestamp_epoch_ms ${ms}`);
    }
    return [
      row.etl_id ?? "",
      row.etl_timestamp ? new Date(row.etl_timestamp).toISOString() : "",
      row.api_key,
      row.event_type,
      data.session_id,
      sku,
      productAction(data.product_action ?? "", sku),
      ms,
      data.hashed_url ?? "",
    ];
  };
  return {
    name: "events",
    target: "events",
    inspectFirstLine(line) {
      if (!line.trimStart().startsWith("{")) {
        throw new RowError("not an events file: each line must be one JSON object of the raw contract (NDJSON)");
      }
      return false;
    },
    parse,
  };
}

export const COVEO_CATALOG_COLUMNS = [
  "product_sku_hash",
  "description_vector",
  "category_hash",
  "image_vector",
  "price_bucket",
] as const;

function vector(value: string, column: string): string {
  if (value === "") return "";
  const text = value.trim();
  if (!text.startsWith("[") || !text.endsWith("]")) throw new RowError(`${column} is not a [..] vector`);
  const numbers = text
    .slice(1, -1)
    .split(",")
    .map((part) => Number(part));
  if (numbers.some((number) => !Number.isFinite(number))) throw new RowError(`${column} holds a non-number`);
  return `[${numbers.join(",")}]`;
}

function coveoCatalogFormat(): LineFormat {
  return {
    name: "coveo-catalog",
    target: "products",
    inspectFirstLine: (line) =>
      checkHeader(splitCsvLine(line), COVEO_CATALOG_COLUMNS, "coveo-catalog (sku_to_content.csv)"),
    parse(line) {
      const fields = splitCsvLine(line);
      requireColumns(fields, COVEO_CATALOG_COLUMNS);
      const [sku, description, category, image, price] = fields as [string, string, string, string, string];
      const normalisedSku = sku.trim().toLowerCase();
      if (normalisedSku === "") throw new RowError("product_sku_hash is empty");
      const bucket = price.trim();
      if (bucket !== "" && !/^\d+(\.0+)?$/.test(bucket))
        throw new RowError(`price_bucket "${price}" is not an integer`);
      return [
        normalisedSku,
        category.trim(),
        bucket === "" ? "" : String(Number.parseInt(bucket, 10)),
        vector(description, "description_vector"),
        vector(image, "image_vector"),
      ];
    },
  };
}

export function lineFormat(format: LoadFormat, tenant: string): LineFormat {
  switch (format) {
    case "coveo":
      return coveoFormat(tenant);
    case "rsc15":
      return rsc15Format(tenant);
    case "events":
      return eventsFormat();
    case "coveo-catalog":
      return coveoCatalogFormat();
  }
}
