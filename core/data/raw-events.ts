import type { Warehouse } from "../ports/warehouse.ts";

/**
 * The raw data contract: an append-only events table. Loaders only ever INSERT; the dbt staging
 * model keeps the latest load of each event, so a re-load is a correction, never a duplicate.
 *
 * | column | meaning |
 * | --- | --- |
 * | etl_id | id of the loaded row (unique) |
 * | etl_timestamp | when the row was loaded (UTC) |
 * | api_key | the tenant |
 * | event_type | `event_product` or `pageview` (Coveo's Google-Analytics event types) |
 * | event_date | UTC date of `server_timestamp_epoch_ms` |
 * | raw_data | JSON: session_id, product_sku, product_action, server_timestamp_epoch_ms, hashed_url, event_type |
 */
export const RAW_SCHEMA = "raw";
export const RAW_EVENTS_TABLE = `${RAW_SCHEMA}.events`;
/** The catalog (Coveo `sku_to_content.csv`): one row per SKU, used by evaluation for slices and similar items. */
export const PRODUCTS_TABLE = `${RAW_SCHEMA}.products`;

export const RAW_EVENT_FIELDS = [
  "session_id",
  "product_sku",
  "product_action",
  "server_timestamp_epoch_ms",
  "hashed_url",
  "event_type",
] as const;

/** Coveo's `product_action` values; an empty action is a page view without a product. */
export const PRODUCT_ACTIONS = ["detail", "add", "purchase", "remove", "click"] as const;
export const EVENT_TYPES = ["event_product", "pageview", "event"] as const;

export interface RawEvent {
  readonly session_id: string;
  readonly product_sku: string | null;
  readonly product_action: string | null;
  readonly server_timestamp_epoch_ms: number;
  readonly hashed_url: string | null;
  readonly event_type: string;
}

const DDL = {
  duckdb: [
    `create schema if not exists ${RAW_SCHEMA}`,
    `create table if not exists ${RAW_EVENTS_TABLE} (
      etl_id varchar not null,
      etl_timestamp timestamp not null,
      api_key varchar not null,
      event_type varchar not null,
      event_date date not null,
      raw_data json not null
    )`,
    `create table if not exists ${PRODUCTS_TABLE} (
      sku varchar primary key,
      category_hash varchar,
      price_bucket integer,
      description_vector double[],
      image_vector double[],
      etl_timestamp timestamp not null
    )`,
  ],
  snowflake: [
    `create schema if not exists ${RAW_SCHEMA}`,
    `create table if not exists ${RAW_EVENTS_TABLE} (
      etl_id varchar not null,
      etl_timestamp timestamp_ntz not null,
      api_key varchar not null,
      event_type varchar not null,
      event_date date not null,
      raw_data variant not null
    )`,
    `create table if not exists ${PRODUCTS_TABLE} (
      sku varchar not null primary key,
      category_hash varchar,
      price_bucket integer,
      description_vector array,
      image_vector array,
      etl_timestamp timestamp_ntz not null
    )`,
  ],
} as const;

/** The statements that create the raw tables (idempotent), in the warehouse's dialect. */
export function rawTableDdl(dialect: Warehouse["dialect"]): readonly string[] {
  return DDL[dialect];
}

export async function ensureRawTables(warehouse: Warehouse): Promise<void> {
  for (const statement of rawTableDdl(warehouse.dialect)) await warehouse.query(statement);
}
