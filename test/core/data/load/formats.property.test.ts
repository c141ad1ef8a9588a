import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EVENT_LOAD_COLUMNS,
  LOAD_FORMATS,
  lineFormat,
  PRODUCT_LOAD_COLUMNS,
  RowError,
} from "../../../../core/data/load/formats.ts";
import { InvalidEncodingError, strictUtf8Lines } from "../../../../core/data/load/load.ts";
import { epochMsProblem } from "../../../../core/data/time-policy.ts";

const RUNS = { numRuns: 300 };
/** Any one line of text: full Unicode, no line break. */
// A leading byte-order mark is not text: the decoder drops it at the start of a file, as editors do.
const lineText = fc
  .string({ unit: "grapheme", maxLength: 120 })
  .map((text) => text.replace(/[\r\n]/g, "").replace(/^\uFEFF+/, ""));
const csvish = fc
  .tuple(
    fc.array(
      fc.oneof(
        lineText,
        fc.constantFrom("", "detail", "event_product", "pageview", "1550000000000", "1396396800", '"q"'),
      ),
      { maxLength: 7 },
    ),
    fc.constantFrom(",", "\t"),
  )
  .map(([fields, delimiter]) => fields.join(delimiter));
const ndjsonish = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value));
const plausibleMs = fc.integer({ min: Date.parse("2000-01-01T00:00:00Z"), max: Date.parse("2099-12-31T23:59:59Z") });

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** The bytes cut at arbitrary points, as a file stream delivers them. */
function chunked(bytes: Buffer, cuts: number[]): Readable {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) parts.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return Readable.from(parts);
}

describe("every loader format, for any line", () => {
  it("either yields a full normalised row with a plausible time, or a RowError (never another error)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...LOAD_FORMATS), fc.oneof(csvish, ndjsonish, lineText), (name, line) => {
        const format = lineFormat(name, "tenant-1");
        let row: readonly string[];
        try {
          row = format.parse(line);
        } catch (error) {
          expect(error).toBeInstanceOf(RowError);
          return;
        }
        if (format.target === "products") {
          expect(row).toHaveLength(PRODUCT_LOAD_COLUMNS.length);
          return;
        }
        expect(row).toHaveLength(EVENT_LOAD_COLUMNS.length);
        const ms = Number(row[EVENT_LOAD_COLUMNS.indexOf("server_timestamp_epoch_ms")]);
        expect(epochMsProblem(ms)).toBeUndefined();
      }),
      RUNS,
    );
  });

  it("keeps a valid rsc15 or coveo row's session, item and time exactly", () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);
    fc.assert(
      fc.property(id, id, plausibleMs, (session, item, ms) => {
        const rsc15 = lineFormat("rsc15", "t");
        rsc15.inspectFirstLine(`${session}\t${item}\t${ms / 1000}`);
        const fromRsc15 = rsc15.parse(`${session}\t${item}\t${ms / 1000}`);
        const fromCoveo = lineFormat("coveo", "t").parse(`${session},event_product,detail,${item},${ms},url`);
        for (const row of [fromRsc15, fromCoveo]) {
          expect(row[EVENT_LOAD_COLUMNS.indexOf("session_id")]).toBe(session);
          expect(row[EVENT_LOAD_COLUMNS.indexOf("product_sku")]).toBe(item);
          expect(Number(row[EVENT_LOAD_COLUMNS.indexOf("server_timestamp_epoch_ms")])).toBe(ms);
        }
      }),
      RUNS,
    );
  });
});

describe("strict UTF-8 lines, for any text and any chunking", () => {
  it("yields exactly the lines written (CRLF or LF)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineText, { minLength: 1, maxLength: 30 }),
        fc.constantFrom("\n", "\r\n"),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (lines, eol, cuts) => {
          const bytes = Buffer.from(lines.map((line) => `${line}${eol}`).join(""), "utf8");
          expect(await collect(strictUtf8Lines(chunked(bytes, cuts), "f"))).toEqual(lines);
        },
      ),
      RUNS,
    );
  });

  it("names the line of the first byte that is not UTF-8, wherever the chunks are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineText, { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.constantFrom(0xe9, 0xff, 0xc0, 0x80),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (lines, at, bad, cuts) => {
          const badLine = at % lines.length;
          const parts = lines.map((line, index) =>
            index === badLine
              ? Buffer.concat([Buffer.from(line), Buffer.from([bad]), Buffer.from("\n")])
              : Buffer.from(`${line}\n`),
          );
          const error = await collect(strictUtf8Lines(chunked(Buffer.concat(parts), cuts), "f")).catch(
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(InvalidEncodingError);
          expect((error as InvalidEncodingError).line).toBe(badLine + 1);
        },
      ),
      RUNS,
    );
  });
});
