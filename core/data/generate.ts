import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Warehouse } from "../ports/warehouse.ts";
import { COVEO_CATALOG_COLUMNS, COVEO_COLUMNS } from "./load/formats.ts";
import { type LoadResult, loadFile } from "./load/load.ts";

export interface GenerateOptions {
  /** Events to write (page views included), 1,000 to 50,000,000. */
  readonly events: number;
  /** @default 42 */
  readonly seed?: number;
  /** First day of the sessions (UTC). @default "2024-01-01" */
  readonly startDate?: string;
  /** Days the sessions spread over. @default 14 */
  readonly days?: number;
  /** Distinct products. @default events / 100, between 500 and 200,000 */
  readonly items?: number;
  /** Also write the matching catalog (`sku_to_content.csv` format) here. */
  readonly catalogOut?: string;
  readonly onProgress?: (progress: { readonly events: number; readonly total: number }) => void;
}

export interface GenerateResult {
  readonly events: number;
  readonly sessions: number;
  readonly items: number;
  readonly firstDay: string;
  readonly lastDay: string;
  readonly seconds: number;
}

export class GenerateOptionsError extends Error {
  override readonly name = "GenerateOptionsError";
}

/** sfc32: a small, fast, well-distributed seeded PRNG (Math.random cannot be seeded). */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** A 16-hex-digit id derived from a number (splitmix-style), so SKUs look like the dataset's hashes. */
function hexId(value: number, salt: number): string {
  let x = BigInt.asUintN(64, BigInt(value) * 0x9e3779b97f4a7c15n + BigInt(salt));
  x = BigInt.asUintN(64, (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n);
  x = BigInt.asUintN(64, (x ^ (x >> 27n)) * 0x94d049bb133111ebn);
  x ^= x >> 31n;
  return x.toString(16).padStart(16, "0");
}

/** Index of the first cumulative weight above u·total (binary search). */
function sample(cdf: Float64Array, random: () => number): number {
  const target = random() * (cdf[cdf.length - 1] ?? 0);
  let low = 0;
  let high = cdf.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((cdf[middle] ?? 0) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const cdf = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0;
    cdf[i] = sum;
  }
  return cdf;
}

/** The synthetic shop: Zipf popularity, categories, and a few "what people look at next" items per product. */
interface Catalog {
  readonly skus: readonly string[];
  readonly urls: readonly string[];
  readonly category: Int32Array;
  readonly popularity: Float64Array;
  readonly globalCdf: Float64Array;
  readonly categoryItems: readonly Int32Array[];
  readonly categoryCdf: readonly Float64Array[];
  /** RELATED successors per item, flattened. */
  readonly related: Int32Array;
  readonly relatedCdf: Float64Array;
}

const RELATED = 6;
const RELATED_WEIGHTS = cumulative([0.4, 0.22, 0.14, 0.1, 0.08, 0.06]);

function buildCatalog(items: number, random: () => number, seed: number): Catalog {
  const categories = Math.max(5, Math.round(Math.sqrt(items) / 2));
  // Zipf(1.0) over a random permutation, so popular items are spread over categories.
  const popularity = new Float64Array(items);
  for (let rank = 0; rank < items; rank++) popularity[rank] = 1 / (rank + 1) ** 0.9;
  const category = new Int32Array(items);
  for (let item = 0; item < items; item++) category[item] = Math.floor(random() ** 1.5 * categories);
  const members: number[][] = Array.from({ length: categories }, () => []);
  for (let item = 0; item < items; item++) members[category[item] ?? 0]?.push(item);
  const categoryItems = members.map((list) => Int32Array.from(list.length > 0 ? list : [0]));
  const categoryCdf = categoryItems.map((list) => cumulative(Array.from(list, (item) => popularity[item] ?? 0)));
  const related = new Int32Array(items * RELATED);
  for (let item = 0; item < items; item++) {
    const pool = categoryItems[category[item] ?? 0] as Int32Array;
    for (let slot = 0; slot < RELATED; slot++) {
      // Mostly same-category complements, sometimes a cross-category one (a phone → a case).
      // Successors are drawn uniformly, not by popularity: what follows an item is information
      // that only a model of the session has.
      related[item * RELATED + slot] =
        random() < 0.8 ? (pool[Math.floor(random() * pool.length)] ?? 0) : Math.floor(random() * items);
    }
  }
  return {
    skus: Array.from({ length: items }, (_, item) => hexId(item, seed)),
    urls: Array.from({ length: items }, (_, item) => hexId(item, seed + 7919)),
    category,
    popularity,
    globalCdf: cumulative(popularity),
    categoryItems,
    categoryCdf,
    related,
    relatedCdf: RELATED_WEIGHTS,
  };
}

async function write(stream: WriteStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once("drain", resolve));
}

async function end(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Session lengths in product views: log-normal, most sessions short, a long tail (capped at 100). */
function sessionLength(random: () => number): number {
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(100, 1 + Math.floor(Math.exp(0.9 + 0.85 * normal)));
}

/**
 * Writes seeded Coveo-format browsing events (`browsing_train.csv` columns) with structure a
 * session model can learn and popularity cannot: each product has a few likely successors; about a
 * quarter of views return to an item seen earlier in the session; sessions stay mostly in one
 * category; detail views lead to add-to-cart and purchases at funnel rates; page views without a
 * product are mixed in. Memory is the catalog only: events are streamed to the file.
 */
export async function generateEvents(out: string, options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const total = options.events;
  if (!Number.isInteger(total) || total < 1000 || total > 50_000_000) {
    throw new GenerateOptionsError(`--events must be a whole number from 1000 to 50000000, got ${total}`);
  }
  const seed = options.seed ?? 42;
  const days = options.days ?? 14;
  if (!Number.isInteger(days) || days < 1)
    throw new GenerateOptionsError(`--days must be a whole number ≥ 1, got ${days}`);
  const startDate = options.startDate ?? "2024-01-01";
  const start = Date.parse(`${startDate}T00:00:00Z`);
  if (Number.isNaN(start)) throw new GenerateOptionsError(`--start-date must be YYYY-MM-DD, got "${startDate}"`);
  const items = options.items ?? Math.min(200_000, Math.max(500, Math.round(total / 100)));
  const random = seededRandom(seed);
  const catalog = buildCatalog(items, random, seed);
  const span = days * 86_400_000;

  const stream = createWriteStream(out);
  let buffer = `${COVEO_COLUMNS.join(",")}\n`;
  let events = 0;
  let sessions = 0;
  let lastProgress = 0;
  const seen: number[] = [];
  try {
    while (events < total) {
      sessions++;
      const sessionId = hexId(sessions, seed + 104_729);
      // Sessions start in time order over the span, with a little jitter.
      let time = Math.floor(start + (events / total) * span + random() * 60_000);
      const views = sessionLength(random);
      seen.length = 0;
      let current = sample(catalog.globalCdf, random);
      let added = -1;
      const emit = (type: string, action: string, item: number) => {
        const sku = item < 0 ? "" : (catalog.skus[item] as string);
        const url = item < 0 ? hexId(time, seed) : (catalog.urls[item] as string);
        buffer += `${sessionId},${type},${action},${sku},${time},${url}\n`;
        events++;
        time += 2000 + Math.floor(-Math.log(1 - random()) * 30_000);
      };
      for (let view = 0; view < views && events < total; view++) {
        if (view > 0) {
          const roll = random();
          if (roll < 0.25 && seen.length > 0) current = seen[Math.floor(random() * seen.length)] ?? current;
          else if (roll < 0.7)
            current = catalog.related[current * RELATED + sample(catalog.relatedCdf, random)] ?? current;
          else if (roll < 0.9) {
            const category = catalog.category[current] ?? 0;
            current =
              catalog.categoryItems[category]?.[sample(catalog.categoryCdf[category] as Float64Array, random)] ??
              current;
          } else current = sample(catalog.globalCdf, random);
        }
        if (random() < 0.1 && events < total) emit("pageview", "", -1);
        if (events >= total) break;
        emit("event_product", "detail", current);
        seen.push(current);
        if (random() < 0.07 && events < total) {
          emit("event_product", "add", current);
          added = current;
          if (random() < 0.08 && events < total) {
            emit("event_product", "remove", current);
            added = -1;
          }
        }
      }
      if (added >= 0 && random() < 0.35 && events < total) emit("event_product", "purchase", added);
      if (buffer.length > 1 << 20) {
        await write(stream, buffer);
        buffer = "";
      }
      if (events - lastProgress >= 250_000) {
        lastProgress = events;
        options.onProgress?.({ events, total });
      }
    }
    await write(stream, buffer);
    await end(stream);
  } catch (error) {
    stream.destroy();
    await rm(out, { force: true });
    throw error;
  }
  options.onProgress?.({ events, total });
  if (options.catalogOut) await writeCatalog(options.catalogOut, catalog, random);
  return {
    events,
    sessions,
    items,
    firstDay: startDate,
    lastDay: new Date(start + span - 1).toISOString().slice(0, 10),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The catalog in `sku_to_content.csv` format: category, a price bucket and small vectors near their category's. */
async function writeCatalog(out: string, catalog: Catalog, random: () => number): Promise<void> {
  const stream = createWriteStream(out);
  let buffer = `${COVEO_CATALOG_COLUMNS.join(",")}\n`;
  const vector = (base: number) =>
    `"[${Array.from({ length: 8 }, (_, i) => (Math.sin(base * (i + 1)) + (random() - 0.5) * 0.2).toFixed(4)).join(",")}]"`;
  for (let item = 0; item < catalog.skus.length; item++) {
    const category = catalog.category[item] ?? 0;
    const price = 1 + ((category * 7 + Math.floor(random() * 3)) % 10);
    buffer += `${catalog.skus[item]},${vector(category + 1)},${hexId(category, 31)},${vector(category + 101)},${price}\n`;
    if (buffer.length > 1 << 20) {
      await write(stream, buffer);
      buffer = "";
    }
  }
  await write(stream, buffer);
  await end(stream);
}

/**
 * `pms data generate` without `--out`: generates to a temporary file and loads it (streamed, constant
 * memory); with `catalog`, the matching products too, into `raw.products`.
 */
export async function generateIntoWarehouse(
  warehouse: Warehouse,
  options: Omit<GenerateOptions, "catalogOut"> & { readonly tenant: string; readonly catalog?: boolean },
): Promise<GenerateResult & { readonly load: LoadResult; readonly catalogLoad?: LoadResult }> {
  const folder = await mkdtemp(join(tmpdir(), "pms-generate-"));
  try {
    const file = join(folder, "browsing_train.csv");
    const catalogOut = options.catalog ? join(folder, "sku_to_content.csv") : undefined;
    const generated = await generateEvents(file, { ...options, ...(catalogOut ? { catalogOut } : {}) });
    const load = await loadFile(warehouse, file, { format: "coveo", tenant: options.tenant, onBadRow: "abort" });
    if (!catalogOut) return { ...generated, load };
    const catalogLoad = await loadFile(warehouse, catalogOut, {
      format: "coveo-catalog",
      tenant: options.tenant,
      onBadRow: "abort",
    });
    return { ...generated, load, catalogLoad };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
