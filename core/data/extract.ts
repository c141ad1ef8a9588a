import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { toLocalPath } from "../artifacts/filesystem.ts";
import { parseS3Uri } from "../artifacts/s3.ts";
import { type DataManifest, type ExtractState, PIPELINE_ERRORS } from "../pipeline/contracts.ts";
import { deadlineInForce, isPastDeadline, startPollDeadline } from "../pipeline/poll-budget.ts";
import type { RunArtifactUris, RunContext } from "../pipeline/run-context.ts";
import type { ArtifactStore } from "../ports/artifact-store.ts";
import type { SqlValue, Warehouse } from "../ports/warehouse.ts";
import { duckdbString } from "../warehouse/sql-literals.ts";
import { PRODUCTS_TABLE, RAW_SCHEMA } from "./raw-events.ts";

/** The dbt view Extract unloads (models/marts/training_sessions.sql), in the target's default schema. */
export const TRAINING_SESSIONS_RELATION = "training_sessions";
export const SPLITS = ["train", "validation", "test"] as const;
export type Split = (typeof SPLITS)[number];

export class InsufficientDataError extends Error {
  override readonly name = PIPELINE_ERRORS.insufficientData;
}

export class ExtractFailedError extends Error {
  override readonly name = PIPELINE_ERRORS.extractFailed;
}

/** What the extract reads of the run context. */
export interface ExtractRun
  extends Pick<RunContext, "runId" | "executionName" | "window" | "tenant" | "holdoutDays" | "minSessions"> {
  readonly uris: { readonly data: RunArtifactUris["data"] };
}

const DAY_MS = 86_400_000;

/** The share of the non-test sessions drawn into validation. */
export const VALIDATION_SHARE = 0.05;
/** The buckets a session_id hash falls into; validation takes the lowest `VALIDATION_SHARE` of them. */
const HASH_BUCKETS = 10_000;

/** The split rule's parameters, bound into `extractQuery`. */
export interface SplitRule {
  /** Sessions that start within this span of the window's latest session start are test. */
  readonly testMs: number;
  /** Non-test sessions whose session_id hash bucket is below this are validation. */
  readonly validationBuckets: number;
}

/**
 * The split rule, with H = holdoutDays: test = the sessions that start in the last H×24 h before the
 * window's latest session start (the session-rec protocol for RSC15 and Coveo: serving sees a model
 * trained on the past and judged on the future); validation = a `VALIDATION_SHARE` sample of the
 * other sessions, drawn by a hash of session_id; train = the rest. Validation only drives early
 * stopping and tuning, so it is sampled across the window instead of cut from its end: the model
 * still learns from the sessions just before the test span, which on the click log are worth the
 * most (a V-SkNN without the most recent 5% of its training sessions drops from HR@20 0.641 to
 * 0.610). A hash rather than random() picks the same sample on every rerun. Measuring from the latest
 * session rather than from the window's calendar end keeps a real hold-out when the last calendar
 * day is nearly empty (the RSC15 sample ends at 00:43 on its last day).
 */
export function splitRule(window: { start: string; end: string }, holdoutDays: number): SplitRule {
  const days =
    Math.round((Date.parse(`${window.end}T00:00:00Z`) - Date.parse(`${window.start}T00:00:00Z`)) / DAY_MS) + 1;
  if (!Number.isFinite(days) || days < holdoutDays + 1) {
    throw new InsufficientDataError(
      `The window ${window.start}..${window.end} has ${Number.isFinite(days) ? days : 0} day(s); holdoutDays=${holdoutDays} needs at least ${holdoutDays + 1} (${holdoutDays} test day(s), then at least one day to train and validate on). Widen the window or lower holdoutDays.`,
    );
  }
  return { testMs: holdoutDays * DAY_MS, validationBuckets: Math.round(VALIDATION_SHARE * HASH_BUCKETS) };
}

/**
 * The one query: the window's training sessions of the tenant, each with its split. Binds: see
 * `extractBinds`. DuckDB's hash() (unsigned 64-bit) and Snowflake's HASH() (signed 64-bit, hence
 * abs) are different functions: the two warehouses draw different validation samples, each the same
 * on every rerun.
 */
export function extractQuery(dialect: Warehouse["dialect"], relation = TRAINING_SESSIONS_RELATION): string {
  if (dialect === "duckdb") {
    return `select session_id, tenant, cast(session_start_ms as bigint) as session_start_ms, session_date, items,
      cast(length as integer) as length,
      case when session_start_ms > latest_start_ms - cast(? as bigint) then 'test'
           when hash(session_id) % ${HASH_BUCKETS} < cast(? as integer) then 'validation'
           else 'train' end as split
    from (
      select *, max(session_start_ms) over () as latest_start_ms
      from ${relation}
      where tenant = ? and session_date between cast(? as date) and cast(? as date))
    order by session_start_ms, session_id`;
  }
  // Quoted lower-case aliases: Snowflake upper-cases unquoted names, and the Parquet columns are SESSION_COLUMNS.
  return `select session_id::varchar as "session_id", tenant::varchar as "tenant",
      session_start_ms::number(18, 0) as "session_start_ms", session_date::date as "session_date",
      items::array as "items", length::number(9, 0) as "length",
      case when session_start_ms > latest_start_ms - ?::number(18, 0) then 'test'
           when abs(hash(session_id)) % ${HASH_BUCKETS} < ?::number(9, 0) then 'validation'
           else 'train' end as "split"
    from (
      select *, max(session_start_ms) over () as latest_start_ms
      from ${relation}
      where tenant = ? and session_date between ?::date and ?::date)`;
}

export function extractBinds(run: Pick<ExtractRun, "window" | "tenant" | "holdoutDays">): SqlValue[] {
  const rule = splitRule(run.window, run.holdoutDays);
  return [rule.testMs, rule.validationBuckets, run.tenant, run.window.start, run.window.end];
}

/**
 * The prefix the unload stage's URL points at: `s3://<bucket>/runs/`. Snowflake requires a stage's
 * URL to lie within its storage integration's STORAGE_ALLOWED_LOCATIONS ("The URL in the stage
 * definition must align with the storage location specified for the STORAGE_ALLOWED_LOCATIONS
 * parameter", CREATE STORAGE INTEGRATION, docs.snowflake.com/en/sql-reference/sql/create-storage-integration),
 * and the integration allows `runs/` only.
 */
export const UNLOAD_STAGE_PREFIX = "runs/";

/** `<id>/data/` relative to the stage, whose URL is `s3://<bucket>/runs/`. */
export function stagePath(uri: string): string {
  const key = uri.startsWith("s3://") ? parseS3Uri(uri).key : uri;
  if (!key.startsWith(UNLOAD_STAGE_PREFIX))
    throw new ExtractFailedError(
      `Unload path "${key}" is outside ${UNLOAD_STAGE_PREFIX}, the prefix the unload stage's URL points at`,
    );
  const path = key.slice(UNLOAD_STAGE_PREFIX.length);
  if (!/^[\w\-./=]+$/.test(path))
    throw new ExtractFailedError(`Unload path "${path}" has characters a stage path cannot carry`);
  return path;
}

function dataPrefix(run: ExtractRun): string {
  return run.uris.data.train.replace(/train\/$/, "");
}

/** Where DuckDB writes before the check commits the files into place. */
function partialFolder(run: ExtractRun): string {
  return join(toLocalPath(dataPrefix(run)), ".partial");
}

export function unloadStatement(dialect: Warehouse["dialect"], run: ExtractRun, options: ExtractOptions = {}): string {
  const query = extractQuery(dialect, options.relation);
  if (dialect === "duckdb") {
    return `copy (${query}) to ${duckdbString(partialFolder(run))} (format parquet, partition_by (split), overwrite_or_ignore, filename_pattern 'part-{i}')`;
  }
  if (!options.stage)
    throw new ExtractFailedError("Snowflake unload needs the external stage name (SNOWFLAKE_UNLOAD_STAGE)");
  if (!/^[\w.$"]+$/.test(options.stage))
    throw new ExtractFailedError(`Stage name "${options.stage}" is not an identifier`);
  // PARTITION BY writes <prefix><split>/data_*.parquet: train/, validation/ and test/ from one query.
  return `copy into @${options.stage}/${stagePath(dataPrefix(run))}
    from (${query})
    partition by ("split")
    file_format = (type = parquet)
    header = true
    max_file_size = 268435456`;
}

export interface ExtractOptions {
  /** @default TRAINING_SESSIONS_RELATION */
  readonly relation?: string;
  /** Snowflake: the external stage whose URL is `s3://<bucket>/runs/`. */
  readonly stage?: string;
  /**
   * How long the extract may take, unload and statistics together: the warehouse cancels each
   * statement past it (Snowflake's STATEMENT_TIMEOUT_IN_SECONDS) and "Check the extract" fails the
   * run once the deadline has passed, so a stuck unload cannot poll on until the execution's
   * 25,000-event history runs out. `snowflake.extractTimeoutMinutes`.
   * @default no deadline (the local twin)
   */
  readonly timeoutSeconds?: number;
  /** The execution's redrive count when the deadline is set (`$$.Execution.RedriveCount`). @default 0 */
  readonly redriveCount?: number;
}

/**
 * "Start the extract": clears any earlier attempt's files and starts the unload without waiting.
 * No rows pass through this process: the warehouse writes the Parquet itself.
 */
export async function startExtract(
  warehouse: Warehouse,
  store: ArtifactStore,
  run: ExtractRun,
  options: ExtractOptions = {},
  now: () => Date = () => new Date(),
): Promise<ExtractState> {
  const binds = extractBinds(run);
  // A retried attempt must not leave a previous attempt's parts beside the new ones; the manifest
  // (written last) is what marks the data complete.
  await store.delete(run.uris.data.manifest);
  if (warehouse.dialect === "duckdb") {
    await rm(partialFolder(run), { recursive: true, force: true });
    await mkdir(partialFolder(run), { recursive: true });
  } else {
    for (const split of SPLITS) for (const uri of await store.list(run.uris.data[split])) await store.delete(uri);
  }
  const queryId = await warehouse.start(unloadStatement(warehouse.dialect, run, options), {
    binds,
    tag: run.executionName,
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
  });
  return {
    queryId,
    status: "running",
    finished: false,
    manifestUri: run.uris.data.manifest,
    ...(options.timeoutSeconds === undefined
      ? {}
      : startPollDeadline(options.timeoutSeconds, now(), options.redriveCount ?? 0)),
  };
}

interface SplitStats {
  split: string;
  sessions: number;
  events: number;
  items: number;
  first_day: unknown;
  last_day: unknown;
  content: unknown;
}

function statsQuery(dialect: Warehouse["dialect"], from: string): string {
  if (dialect === "duckdb") {
    return `with s as (select * from ${from}),
      per_split as (
        select split, count(*) as sessions, sum(length) as events, min(session_date) as first_day,
          max(session_date) as last_day,
          cast(bit_xor(hash(session_id, tenant, session_start_ms, items)) as varchar) as content
        from s group by split),
      per_item as (select split, count(distinct item) as items from (select split, unnest(items) as item from s) group by split)
    select per_split.*, coalesce(per_item.items, 0) as items from per_split left join per_item using (split)
    union all
    select 'all', count(*), sum(length), min(session_date), max(session_date), '',
      (select count(distinct item) from (select unnest(items) as item from s))
    from s`;
  }
  return `with s as (${from}),
    per_split as (
      select "split" as split, count(*) as sessions, sum("length") as events, min("session_date") as first_day,
        max("session_date") as last_day,
        hash_agg("session_id", "tenant", "session_start_ms", "items")::varchar as content
      from s group by "split"),
    per_item as (
      select s."split" as split, count(distinct f.value::varchar) as items
      from s, lateral flatten(input => s."items") f group by s."split")
  select per_split.*, coalesce(per_item.items, 0) as items from per_split left join per_item on per_item.split = per_split.split
  union all
  select 'all', count(*), sum("length"), min("session_date"), max("session_date"), '',
    (select count(distinct f.value::varchar) from s, lateral flatten(input => s."items") f)
  from s`;
}

function day(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).slice(0, 10);
}

/**
 * "Check the extract": while the unload runs, reports `running`; when it has succeeded, counts the
 * splits in the warehouse (aggregates only), enforces `minSessions`, commits the files (DuckDB:
 * renames the partial folder's parts into place) and writes the manifest last. On Snowflake the
 * count is itself started asynchronously and polled like the unload: on a cold warehouse or a big
 * window it can take longer than the function's timeout. Past the extract's deadline
 * (`ExtractOptions.timeoutSeconds`, restarted on a redriven execution) it fails the run.
 */
export async function checkExtract(
  warehouse: Warehouse,
  store: ArtifactStore,
  run: ExtractRun,
  state: Pick<ExtractState, "queryId" | "statisticsQueryId" | "deadline" | "redriveCount">,
  options: ExtractOptions = {},
  now: () => Date = () => new Date(),
): Promise<ExtractState> {
  const timeoutSeconds = options.timeoutSeconds;
  const deadline =
    state.deadline && timeoutSeconds !== undefined
      ? deadlineInForce(
          { deadline: state.deadline, redriveCount: state.redriveCount ?? 0 },
          options.redriveCount ?? 0,
          timeoutSeconds,
          now(),
        )
      : undefined;
  const base = { queryId: state.queryId, manifestUri: run.uris.data.manifest, ...(deadline ?? {}) };
  const statisticsBinds = warehouse.dialect === "snowflake" ? { binds: extractBinds(run) } : {};
  const stillRunning = (statisticsQueryId?: string): ExtractState => {
    if (deadline && isPastDeadline(deadline.deadline, now())) {
      throw new ExtractFailedError(
        `The extract of run ${run.runId} was still running at its deadline ${deadline.deadline} (${timeoutSeconds} s, snowflake.extractTimeoutMinutes); the warehouse cancels its statement at STATEMENT_TIMEOUT_IN_SECONDS. Raise the timeout or size the warehouse up, then redrive the execution.`,
      );
    }
    return { ...base, status: "running", finished: false, ...(statisticsQueryId ? { statisticsQueryId } : {}) };
  };

  let rows: SplitStats[] = [];
  if (state.statisticsQueryId) {
    const counted = await warehouse.status(state.statisticsQueryId);
    if (counted.state === "running") return stillRunning(state.statisticsQueryId);
    if (counted.state === "failed")
      throw new ExtractFailedError(`Counting the unloaded sessions of run ${run.runId} failed: ${counted.message}`);
    rows = await warehouse.results<SplitStats & Record<string, unknown>>(state.statisticsQueryId);
  } else {
    const status = await warehouse.status(state.queryId);
    if (status.state === "running") return stillRunning();
    if (status.state === "failed") {
      if (warehouse.dialect === "duckdb") await rm(partialFolder(run), { recursive: true, force: true });
      throw new ExtractFailedError(`The unload of run ${run.runId} failed in the warehouse: ${status.message}`);
    }
    if (warehouse.dialect === "snowflake") {
      const statisticsQueryId = await warehouse.start(
        statsQuery("snowflake", extractQuery("snowflake", options.relation)),
        {
          ...statisticsBinds,
          tag: run.executionName,
          ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
        },
      );
      return stillRunning(statisticsQueryId);
    }
    // DuckDB runs in this process and counts the local Parquet in well under a second.
    const from = `read_parquet(${duckdbString(join(partialFolder(run), "*", "*.parquet"))}, hive_partitioning = true)`;
    try {
      rows = await warehouse.query<SplitStats & Record<string, unknown>>(statsQuery("duckdb", from), {
        tag: run.executionName,
      });
    } catch (error) {
      // No Parquet at all means the window holds no session.
      if (!/No files found/i.test((error as Error).message)) throw error;
    }
  }
  const bySplit = new Map(rows.map((row) => [row.split, row]));
  const sessionsOf = (split: Split) => Number(bySplit.get(split)?.sessions ?? 0);
  const problems: string[] = [];
  const validationPercent = VALIDATION_SHARE * 100;
  if (sessionsOf("train") < run.minSessions) {
    problems.push(
      `${sessionsOf("train")} training session(s) (those before the last ${run.holdoutDays} day(s) of the window's sessions, less the ${validationPercent}% drawn for validation), fewer than minSessions=${run.minSessions}`,
    );
  }
  // A small window can leave the hash sample empty even when train is large enough.
  if (sessionsOf("validation") === 0)
    problems.push(
      `no validation session (validation draws ${validationPercent}% of the ${sessionsOf("train")} session(s) before the test span by a hash of session_id; a wider window gives it more to draw from)`,
    );
  if (sessionsOf("test") === 0)
    problems.push(`no test session (the test split holds the last ${run.holdoutDays} day(s) of sessions)`);
  if (problems.length > 0) {
    if (warehouse.dialect === "duckdb") await rm(partialFolder(run), { recursive: true, force: true });
    throw new InsufficientDataError(
      `Tenant "${run.tenant}", window ${run.window.start}..${run.window.end}: ${problems.join("; ")}. ` +
        "Check that events were loaded for this tenant and window and that the dbt run used the same vars (tenant, window_start, window_end).",
    );
  }
  if (warehouse.dialect === "duckdb") {
    await commitPartialFolder(run);
    await unloadProductsLocally(warehouse, run);
  }

  const splits = Object.fromEntries(
    SPLITS.map((split) => {
      const row = bySplit.get(split);
      return [
        split,
        {
          rows: Number(row?.sessions ?? 0),
          sessions: Number(row?.sessions ?? 0),
          events: Number(row?.events ?? 0),
          items: Number(row?.items ?? 0),
          uri: run.uris.data[split],
          firstDay: day(row?.first_day),
          lastDay: day(row?.last_day),
        },
      ];
    }),
  ) as DataManifest["splits"];
  const contentHash = createHash("sha256")
    .update(
      JSON.stringify(
        SPLITS.map((split) => [
          split,
          splits[split].sessions,
          splits[split].events,
          String(bySplit.get(split)?.content ?? ""),
        ]),
      ),
    )
    .digest("hex");
  const manifest: DataManifest = {
    window: { start: run.window.start, end: run.window.end },
    tenant: run.tenant,
    holdoutDays: run.holdoutDays,
    splits,
    items: Number(bySplit.get("all")?.items ?? 0),
    contentHash,
    createdAt: now().toISOString(),
  };
  await store.put(run.uris.data.manifest, `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: "application/json",
  });
  return { ...base, status: "succeeded", finished: true, manifest };
}

/**
 * The catalogue beside the splits (`data/products/`), where evaluation looks for the attributes of
 * its category and price slices. Only the columns evaluation reads; nothing when the table is empty.
 */
async function unloadProductsLocally(warehouse: Warehouse, run: ExtractRun): Promise<void> {
  const target = join(toLocalPath(dataPrefix(run)), "products");
  await rm(target, { recursive: true, force: true });
  const [count] = await warehouse.query<{ n: number }>(
    `select count(*) as n from information_schema.tables where table_schema = '${RAW_SCHEMA}' and table_name = 'products'`,
  );
  if (Number(count?.n ?? 0) === 0) return;
  const [rows] = await warehouse.query<{ n: number }>(`select count(*) as n from ${PRODUCTS_TABLE}`);
  if (Number(rows?.n ?? 0) === 0) return;
  await mkdir(target, { recursive: true });
  await warehouse.query(
    `copy (select sku, category_hash, price_bucket from ${PRODUCTS_TABLE} order by sku) to ${duckdbString(join(target, "part-0.parquet"))} (format parquet)`,
    { tag: run.executionName },
  );
}

/** Moves `.partial/split=<name>/part-*.parquet` to `<name>/part-*.parquet`, replacing an earlier run's files. */
async function commitPartialFolder(run: ExtractRun): Promise<void> {
  const partial = partialFolder(run);
  for (const split of SPLITS) {
    const target = toLocalPath(run.uris.data[split]);
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    const written = join(partial, `split=${split}`);
    for (const file of (await readdir(written)).sort()) await rename(join(written, file), join(target, file));
  }
  await rm(partial, { recursive: true, force: true });
}
