import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CooccurrenceRecommender } from "../../../core/baselines/cooccurrence.ts";
import { countItems, PopularityRecommender } from "../../../core/baselines/popularity.ts";
import { generateEvents, generateIntoWarehouse } from "../../../core/data/generate.ts";
import { scoreRecommender, testPoints } from "../../../core/evaluation/metrics.ts";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";

interface Parsed {
  readonly rows: string[][];
  readonly sessions: string[][];
}

/** Sessions of product interactions (detail/add/purchase) in file order, parsed here independently. */
function parse(path: string): Parsed {
  const lines = readFileSync(path, "utf8").trim().split("\n");
  const rows = lines.slice(1).map((line) => line.split(","));
  const bySession = new Map<string, string[]>();
  for (const [session, , action, sku] of rows as [string, string, string, string][]) {
    if (!["detail", "add", "purchase"].includes(action)) continue;
    const items = bySession.get(session) ?? [];
    items.push(sku);
    bySession.set(session, items);
  }
  return { rows, sessions: [...bySession.values()] };
}

describe("generateEvents", () => {
  let folder: string;
  let data: Parsed;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pms-generate-"));
    await generateEvents(join(folder, "a.csv"), { events: 60_000, seed: 7, catalogOut: join(folder, "catalog.csv") });
    data = parse(join(folder, "a.csv"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("writes exactly the events asked for, in the Coveo columns, reproducibly for a seed", async () => {
    const text = await readFile(join(folder, "a.csv"), "utf8");
    expect(text.split("\n")[0]).toBe(
      "session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,hashed_url",
    );
    expect(data.rows.length).toBe(60_000);
    await generateEvents(join(folder, "b.csv"), { events: 60_000, seed: 7 });
    expect(await readFile(join(folder, "b.csv"), "utf8")).toBe(text);
    await generateEvents(join(folder, "c.csv"), { events: 60_000, seed: 8 });
    expect(await readFile(join(folder, "c.csv"), "utf8")).not.toBe(text);
  });

  it("has the shape of real browsing: funnels, page views, repeats, skewed popularity, short sessions", () => {
    const actions = new Map<string, number>();
    for (const row of data.rows) actions.set(row[2] ?? "", (actions.get(row[2] ?? "") ?? 0) + 1);
    const share = (action: string) => (actions.get(action) ?? 0) / data.rows.length;
    expect(share("")).toBeGreaterThan(0.05); // page views
    expect(share("detail")).toBeGreaterThan(0.75);
    expect(share("add")).toBeGreaterThan(0.03);
    expect(share("purchase")).toBeGreaterThan(0.003);
    expect(share("purchase")).toBeLessThan(share("add"));

    let views = 0;
    let repeats = 0;
    for (const session of data.sessions) {
      const seen = new Set<string>();
      for (const item of session) {
        views++;
        if (seen.has(item)) repeats++;
        seen.add(item);
      }
    }
    expect(repeats / views).toBeGreaterThan(0.15);
    expect(repeats / views).toBeLessThan(0.4);

    const counts = [...countItems(data.sessions).values()].sort((a, b) => b - a);
    const top = counts.slice(0, Math.ceil(counts.length / 100)).reduce((sum, n) => sum + n, 0);
    expect(top / views).toBeGreaterThan(0.1); // the top 1% of items draw > 10% of views
    const lengths = data.sessions.map((session) => session.length).sort((a, b) => a - b);
    expect(lengths[Math.floor(lengths.length / 2)]).toBeLessThanOrEqual(5);
    expect(lengths.at(-1)).toBeGreaterThan(20);
  });

  it("times its sessions in order over the days asked, in UTC", () => {
    const times = data.rows.map((row) => Number(row[4]));
    const days = new Set(times.map((time) => new Date(time).toISOString().slice(0, 10)));
    expect([...days].sort()[0]).toBe("2024-01-01");
    expect(days.size).toBeGreaterThanOrEqual(14);
  });

  it("has sequential structure: co-occurrence beats popularity by a wide margin on later sessions", async () => {
    const cut = Math.floor(data.sessions.length * 0.8);
    const train = data.sessions.slice(0, cut);
    const points = testPoints(data.sessions.slice(cut));
    const itemCounts = countItems(train);
    const popularity = await scoreRecommender(PopularityRecommender.fromSessions(train), points, {
      itemCounts,
      ks: [20],
    });
    const cooccurrence = await scoreRecommender(CooccurrenceRecommender.fromSessions(train), points, {
      itemCounts,
      ks: [20],
    });
    expect(cooccurrence.metrics["hr@20"]).toBeGreaterThan((popularity.metrics["hr@20"] ?? 0) * 2);
  });

  it("writes a catalog row for every SKU, in the sku_to_content.csv format", async () => {
    const catalog = (await readFile(join(folder, "catalog.csv"), "utf8")).trim().split("\n");
    expect(catalog[0]).toBe("product_sku_hash,description_vector,category_hash,image_vector,price_bucket");
    const skus = new Set(catalog.slice(1).map((line) => line.split(",")[0]));
    expect(data.sessions.flat().filter((item) => !skus.has(item))).toEqual([]);
  });

  it("rejects a size outside 1k to 50M", async () => {
    await expect(generateEvents(join(folder, "x.csv"), { events: 10 })).rejects.toThrow(
      /from 1000 to 50000000, got 10/,
    );
  });

  it("loads straight into the warehouse", async () => {
    const warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const result = await generateIntoWarehouse(warehouse, { events: 5000, seed: 3, tenant: "synthetic" });
    expect(result.load.rows).toBe(5000);
    expect(await warehouse.query("select count(*) as n from raw.events where api_key = 'synthetic'")).toEqual([
      { n: 5000 },
    ]);
    await warehouse.close();
  });
});
