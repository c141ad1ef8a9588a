import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BadRowError,
  InvalidEncodingError,
  LoadFormatError,
  type LoadProgress,
  loadFile,
} from "../../../../core/data/load/load.ts";
import { DuckDBWarehouse } from "../../../../core/warehouse/duckdb.ts";
import { CLICK_SAMPLE, countClickLog } from "../fixtures.ts";

const COVEO_HEADER = "session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,hashed_url";

describe("loadFile", () => {
  let folder: string;
  let warehouse: DuckDBWarehouse;
  const file = async (name: string, text: string) => {
    const path = join(folder, name);
    await writeFile(path, text);
    return path;
  };
  const count = async (table = "raw.events") =>
    (await warehouse.query<{ n: number }>(`select count(*) as n from ${table}`))[0]?.n;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pms-load-test-"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await warehouse?.close();
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
  });

  it("loads the RecSys 2015 sample with the event and session counts of the file itself", async () => {
    const expected = countClickLog(CLICK_SAMPLE);
    const progress: LoadProgress[] = [];
    const result = await loadFile(warehouse, CLICK_SAMPLE, {
      format: "rsc15",
      tenant: "yoochoose",
      onProgress: (p) => progress.push(p),
    });
    expect(result).toMatchObject({ rows: expected.events, badRows: 0, table: "raw.events" });
    const [stats] = await warehouse.query<{ events: number; sessions: number; items: number; actions: string }>(
      `select count(*) as events, count(distinct raw_data->>'session_id') as sessions,
        count(distinct raw_data->>'product_sku') as items, string_agg(distinct raw_data->>'product_action') as actions
       from raw.events where api_key = 'yoochoose' and event_type = 'event_product'`,
    );
    expect(stats).toEqual({
      events: expected.events,
      sessions: expected.sessions,
      items: expected.items,
      actions: "detail",
    });
    expect(progress.at(-1)).toMatchObject({ phase: "done" });
  });

  it("writes event_date as the UTC day of the event and keeps the epoch milliseconds", async () => {
    const path = await file("iso.csv", "1,100,2014-04-01T23:59:59.999Z\n1,101,1396396800.5\n");
    await loadFile(warehouse, path, { format: "rsc15", tenant: "t" });
    const rows = await warehouse.query<{ day: string; ms: number }>(
      "select strftime(event_date, '%Y-%m-%d') as day, cast(raw_data->>'server_timestamp_epoch_ms' as bigint) as ms from raw.events order by ms",
    );
    expect(rows).toEqual([
      { day: "2014-04-01", ms: Date.parse("2014-04-01T23:59:59.999Z") },
      { day: "2014-04-02", ms: 1396396800500 },
    ]);
  });

  it("gives every loaded row its own etl_id and ignores a byte-order mark before the header", async () => {
    const path = await file("bom.tsv", "\uFEFFSessionId\tItemId\tTime\n1\t100\t1396396800\n1\t100\t1396396800\n");
    await loadFile(warehouse, path, { format: "rsc15", tenant: "t" });
    await loadFile(warehouse, path, { format: "rsc15", tenant: "t" });
    expect(await warehouse.query("select count(*) as n, count(distinct etl_id) as ids from raw.events")).toEqual([
      { n: 4, ids: 4 },
    ]);
  });

  it("loads Coveo browsing events, page views included, into the raw contract", async () => {
    const path = await file(
      "browsing_train.csv",
      `${COVEO_HEADER}\ns1,event_product,detail,SKU1,1550000000000,u1\ns1,pageview,,,1550000001000,u2\ns1,event_product,add,sku1,1550000002000,u1\n`,
    );
    const result = await loadFile(warehouse, path, { format: "coveo", tenant: "shop" });
    expect(result.rows).toBe(3);
    const rows = await warehouse.query<{ event_type: string; raw: string }>(
      "select event_type, raw_data::varchar as raw from raw.events order by raw_data->>'server_timestamp_epoch_ms'",
    );
    expect(rows.map((row) => row.event_type)).toEqual(["event_product", "pageview", "event_product"]);
    expect(JSON.parse(rows[0]?.raw ?? "{}")).toEqual({
      session_id: "s1",
      product_sku: "SKU1",
      product_action: "detail",
      server_timestamp_epoch_ms: 1550000000000,
      hashed_url: "u1",
      event_type: "event_product",
    });
    expect(JSON.parse(rows[1]?.raw ?? "{}")).toMatchObject({ product_sku: null, product_action: null });
  });

  it("loads our raw contract as NDJSON, keeping the etl_id and etl_timestamp it carries", async () => {
    const event = {
      etl_id: "e-1",
      etl_timestamp: "2024-01-01T00:00:00Z",
      api_key: "t",
      event_type: "event_product",
      event_date: "2019-02-12",
      raw_data: {
        session_id: "s",
        product_sku: "a",
        product_action: "purchase",
        server_timestamp_epoch_ms: 1550000000000,
        hashed_url: null,
        event_type: "event_product",
      },
    };
    const path = await file("events.ndjson", `${JSON.stringify(event)}\n`);
    await loadFile(warehouse, path, { format: "events", tenant: "ignored" });
    expect(
      await warehouse.query("select etl_id, strftime(etl_timestamp, '%Y') as year, api_key from raw.events"),
    ).toEqual([{ etl_id: "e-1", year: "2024", api_key: "t" }]);
  });

  it("loads the Coveo catalog into products, replacing a SKU loaded again", async () => {
    const header = "product_sku_hash,description_vector,category_hash,image_vector,price_bucket";
    const first = await file("sku1.csv", `${header}\nABC,"[0.1, 0.2]",cat1,"[1, 2, 3]",4\nxyz,,cat2,,\n`);
    const second = await file("sku2.csv", `${header}\nabc,"[0.5, 0.5]",cat9,"[1, 1, 1]",7\n`);
    await loadFile(warehouse, first, { format: "coveo-catalog", tenant: "t" });
    await loadFile(warehouse, second, { format: "coveo-catalog", tenant: "t" });
    expect(
      await warehouse.query(
        "select sku, category_hash, price_bucket, description_vector, image_vector from raw.products order by sku",
      ),
    ).toEqual([
      { sku: "abc", category_hash: "cat9", price_bucket: 7, description_vector: [0.5, 0.5], image_vector: [1, 1, 1] },
      { sku: "xyz", category_hash: "cat2", price_bucket: null, description_vector: null, image_vector: null },
    ]);
  });

  describe("bad input", () => {
    it("rejects a file of another format before writing anything", async () => {
      const coveo = await file("coveo.csv", `${COVEO_HEADER}\ns1,event_product,detail,a,1550000000000,u\n`);
      await expect(loadFile(warehouse, coveo, { format: "rsc15", tenant: "t" })).rejects.toThrow(
        /not a rsc15 \(SessionId, ItemId, Time\) file: the first line has columns \[session_id_hash.*expected \[SessionId, ItemId, Time\]/,
      );
      await expect(loadFile(warehouse, CLICK_SAMPLE, { format: "coveo", tenant: "t" })).rejects.toBeInstanceOf(
        LoadFormatError,
      );
      await expect(loadFile(warehouse, CLICK_SAMPLE, { format: "events", tenant: "t" })).rejects.toThrow(/NDJSON/);
      expect(await warehouse.query("select * from information_schema.tables where table_schema = 'raw'")).toEqual([]);
    });

    it("aborts on the first bad row by default, naming the line and the column, and loads nothing", async () => {
      const path = await file(
        "bad.tsv",
        "SessionId\tItemId\tTime\n1\t100\t1396396800\n1\t\t1396396801\n2\t5\tyesterday\n",
      );
      const error = await loadFile(warehouse, path, { format: "rsc15", tenant: "t" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRowError);
      expect((error as BadRowError).line).toBe(3);
      expect((error as Error).message).toMatch(/bad\.tsv:3: ItemId is empty\. Nothing was loaded/);
      expect(await warehouse.query("select * from information_schema.tables where table_schema = 'raw'")).toEqual([]);
    });

    it("skips bad rows when asked, counting them and reporting the first ones with line numbers", async () => {
      const path = await file(
        "skip.csv",
        `${COVEO_HEADER}\ns1,event_product,detail,a,1550000000000,u\ns1,event_product,zoom,a,1550000000001,u\ns1,event_product,detail,a,15.5,u\ns2,event_product,add,,1550000000002,u\ns2,event_product,detail,b\n`,
      );
      const result = await loadFile(warehouse, path, {
        format: "coveo",
        tenant: "t",
        onBadRow: "skip",
        badRowSamples: 3,
      });
      expect(result.rows).toBe(1);
      expect(result.badRows).toBe(4);
      expect(result.badRowSamples).toEqual([
        { line: 3, reason: 'product_action "zoom" is not one of detail, add, purchase, remove, click (or empty)' },
        { line: 4, reason: 'server_timestamp_epoch_ms "15.5" is not an epoch time in milliseconds' },
        { line: 5, reason: 'product_action "add" needs a product_sku_hash, which is empty' },
      ]);
      expect(await count()).toBe(1);
    });

    it("names the field of an invalid raw-contract line", async () => {
      const path = await file(
        "bad.ndjson",
        `${JSON.stringify({ api_key: "t", event_type: "event_product", raw_data: { session_id: "s", server_timestamp_epoch_ms: "soon" } })}\n`,
      );
      await expect(loadFile(warehouse, path, { format: "events", tenant: "t" })).rejects.toThrow(
        /bad\.ndjson:1: raw_data\.server_timestamp_epoch_ms: /,
      );
      const notJson = await file("broken.ndjson", '{"api_key": "t",\n');
      await expect(loadFile(warehouse, notJson, { format: "events", tenant: "t" })).rejects.toThrow(
        /:1: not valid JSON/,
      );
    });

    it("fails an empty file and a file whose every row is bad", async () => {
      await expect(
        loadFile(warehouse, await file("empty.csv", "\n"), { format: "coveo", tenant: "t" }),
      ).rejects.toThrow(/is empty: nothing to load/);
      const allBad = await file("all-bad.tsv", "1\t2\tnever\n3\t4\tnever\n");
      await expect(loadFile(warehouse, allBad, { format: "rsc15", tenant: "t", onBadRow: "skip" })).rejects.toThrow(
        /none of its 2 row\(s\) is a valid rsc15 row \(first: line 1: Time "never"/,
      );
    });

    it("reads comma-separated RecSys logs without a header, and rejects a wrong column count", async () => {
      const path = await file("plain.csv", "7,900,1396396800\n7,901,1396396860\n");
      expect((await loadFile(warehouse, path, { format: "rsc15", tenant: "t" })).rows).toBe(2);
      const wide = await file("wide.csv", "7,900,1396396800,extra\n");
      await expect(loadFile(warehouse, wide, { format: "rsc15", tenant: "t" })).rejects.toThrow(
        /expected \[SessionId, ItemId, Time\]/,
      );
    });
  });

  describe("hostile input: refused with the line, nothing lost", () => {
    const seed = async () => {
      await loadFile(warehouse, await file("seed.tsv", "1\t100\t1396396800\n"), { format: "rsc15", tenant: "t" });
      expect(await count()).toBe(1);
    };

    it("refuses a Latin-1 file naming the line, instead of merging caf\\xe9 and caf\\xe8 into one SKU", async () => {
      // Prepare
      await seed();
      const latin1 = Buffer.concat([
        Buffer.from(`${COVEO_HEADER}\ns1,event_product,detail,`),
        Buffer.from([0x63, 0x61, 0x66, 0xe9]),
        Buffer.from(",1550000000000,u1\ns1,event_product,detail,"),
        Buffer.from([0x63, 0x61, 0x66, 0xe8]),
        Buffer.from(",1550000001000,u1\n"),
      ]);
      const path = join(folder, "latin1.csv");
      await writeFile(path, latin1);

      // Act / Assess
      const error = await loadFile(warehouse, path, { format: "coveo", tenant: "t" }).catch((caught) => caught);
      expect(error).toBeInstanceOf(InvalidEncodingError);
      expect(error).toMatchObject({ line: 2 });
      expect((error as Error).message).toMatch(/latin1\.csv:2: not valid UTF-8\. Nothing was loaded; convert/);
      expect(await count()).toBe(1);
    });

    it("names the right line when the bad byte sits far into the file, past the first chunks", async () => {
      // Prepare: 100,000 good lines (well past the 64 KiB read size), then one Latin-1 SKU.
      const good = Array.from({ length: 100_000 }, (_, index) => `${index}\t${index}\t1396396800`).join("\n");
      const path = join(folder, "late.tsv");
      await writeFile(
        path,
        Buffer.concat([Buffer.from(`${good}\n1\tcaf`), Buffer.from([0xe9]), Buffer.from("\t1396396800\n")]),
      );

      // Act / Assess
      await expect(loadFile(warehouse, path, { format: "rsc15", tenant: "t" })).rejects.toMatchObject({
        name: "InvalidEncoding",
        line: 100_001,
      });
    });

    it("keeps UTF-8 SKUs that differ by one accent apart", async () => {
      const path = await file(
        "utf8.csv",
        `${COVEO_HEADER}\ns1,event_product,detail,café,1550000000000,u1\ns1,event_product,detail,cafè,1550000001000,u1\n`,
      );
      await loadFile(warehouse, path, { format: "coveo", tenant: "t" });
      const skus = await warehouse.query<{ sku: string }>(
        "select raw_data->>'product_sku' as sku from raw.events order by 1",
      );
      expect(skus.map((row) => row.sku).sort()).toEqual(["café", "cafè"].sort());
    });

    it("an out-of-range rsc15 time is a bad row like any other: skipped with its line under --on-bad-row skip", async () => {
      // Prepare
      const path = await file("times.tsv", "1\t100\t1396396800\n1\t101\t99999999999999999999999\n1\t102\t1396396860\n");

      // Act
      const result = await loadFile(warehouse, path, { format: "rsc15", tenant: "t", onBadRow: "skip" });

      // Assess
      expect(result).toMatchObject({ rows: 2, badRows: 1 });
      expect(result.badRowSamples[0]?.line).toBe(2);
      expect(result.badRowSamples[0]?.reason).toMatch(/^Time .*outside the plausible dates 2000-01-01\.\.2099-12-31/);
      await expect(loadFile(warehouse, path, { format: "rsc15", tenant: "t" })).rejects.toThrow(
        /times\.tsv:2: Time .* outside the plausible dates/,
      );
      expect(await count()).toBe(2);
    });

    it("refuses 1970 and year-287396 timestamps in every event format, and an ISO time on a day the calendar lacks", async () => {
      const cases: [string, string, "rsc15" | "coveo" | "events", RegExp][] = [
        ["epoch-seconds-as-ms.tsv", "1\t100\t1396396.8\n", "rsc15", /1970-01-17\) is outside the plausible dates/],
        ["feb30.tsv", "1\t100\t2014-02-30T10:00:00Z\n", "rsc15", /2014-02-30 is not a calendar date/],
        ["1970.csv", `${COVEO_HEADER}\ns1,pageview,,,0000000000001,u\n`, "coveo", /1970-01-01\) is outside/],
        [
          "far.csv",
          `${COVEO_HEADER}\ns1,pageview,,,9000000000000000,u\n`,
          "coveo",
          /not an epoch time|beyond any calendar date/,
        ],
        [
          "far.ndjson",
          `${JSON.stringify({ api_key: "t", event_type: "pageview", raw_data: { session_id: "s", server_timestamp_epoch_ms: 9_000_000_000_000_000 } })}\n`,
          "events",
          /server_timestamp_epoch_ms 9000000000000000 \(beyond any calendar date\) is outside/,
        ],
      ];
      await seed();
      for (const [name, text, format, reason] of cases)
        await expect(loadFile(warehouse, await file(name, text), { format, tenant: "t" }), name).rejects.toThrow(
          reason,
        );
      expect(await count()).toBe(1);
    });

    it("says a header-only file has no rows", async () => {
      await expect(
        loadFile(warehouse, await file("header.csv", `${COVEO_HEADER}\n`), { format: "coveo", tenant: "t" }),
      ).rejects.toThrow(/header\.csv has a header but no rows: nothing to load/);
    });

    it("refuses a tenant outside the tenant pattern before reading the file, and such an api_key per row", async () => {
      await seed();
      const path = await file("ok.tsv", "1\t100\t1396396800\n");
      await expect(loadFile(warehouse, path, { format: "rsc15", tenant: "\\' or 1=1 --" })).rejects.toMatchObject({
        name: "InvalidTenant",
      });
      const events = await file(
        "bad-tenant.ndjson",
        `${JSON.stringify({ api_key: "a'b", event_type: "pageview", raw_data: { session_id: "s", server_timestamp_epoch_ms: 1550000000000 } })}\n`,
      );
      await expect(loadFile(warehouse, events, { format: "events", tenant: "t" })).rejects.toThrow(
        /:1: api_key: must be letters/,
      );
      expect(await count()).toBe(1);
    });
  });
});
