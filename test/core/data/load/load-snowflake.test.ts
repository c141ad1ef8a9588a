import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadFile } from "../../../../core/data/load/load.ts";
import { SnowflakeWarehouse } from "../../../../core/warehouse/snowflake.ts";
import { FakeSnowflakeConnection } from "../../warehouse/fake-snowflake.ts";

const sdk = vi.hoisted(() => ({ createConnection: vi.fn() }));
vi.mock("snowflake-sdk", () => ({ default: sdk }));

const PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

describe("loading into Snowflake (mocked snowflake-sdk connection)", () => {
  let folder: string;
  let connection: FakeSnowflakeConnection;
  let warehouse: SnowflakeWarehouse;
  const putFiles: string[] = [];
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pms-load-sf-"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  beforeEach(() => {
    connection = new FakeSnowflakeConnection();
    const execute = connection.execute.bind(connection);
    // Record whether the PUT's local file exists while the PUT runs.
    connection.execute = (options) => {
      const path = /^put '?file:\/\/([^' ]+)/.exec(options.sqlText)?.[1];
      if (path) putFiles.push(`${path}:${existsSync(path)}`);
      return execute(options);
    };
    sdk.createConnection.mockReset();
    sdk.createConnection.mockReturnValue(connection);
    warehouse = new SnowflakeWarehouse({ account: "a", username: "u" }, { key: async () => ({ privateKey: PEM }) });
  });

  it("PUTs the validated file to the raw table's stage, COPYs it into a temporary table, and inserts in one statement", async () => {
    const file = join(folder, "clicks.tsv");
    await writeFile(file, "SessionId\tItemId\tTime\n1\t100\t1396396800.25\n1\t101\t1396396860\n");
    const result = await loadFile(warehouse, file, { format: "rsc15", tenant: "shop" });
    expect(result.rows).toBe(2);

    const statements = connection.executed.map((statement) => statement.sqlText.replace(/\s+/g, " ").trim());
    const ddl = statements.filter((sql) => sql.startsWith("create schema") || sql.startsWith("create table"));
    expect(ddl.some((sql) => sql.includes("raw_data variant not null"))).toBe(true);
    const loadTable = /create temporary table (raw\.pms_load_\w+)/.exec(statements.join("\n"))?.[1];
    expect(loadTable).toBeDefined();
    const put = statements.find((sql) => sql.startsWith("put "));
    expect(put).toMatch(
      /^put 'file:\/\/\/tmp\/pms-load-\w+\/rows\.csv' @raw\.%events\/pms-load-\w+\/ auto_compress = true overwrite = true$/,
    );
    expect(putFiles.at(-1)).toMatch(/:true$/);
    const copy = statements.find((sql) => sql.startsWith("copy into"));
    expect(copy).toContain(`copy into ${loadTable} from @raw.%events/pms-load-`);
    expect(copy).toContain("on_error = abort_statement purge = true");
    const insert = connection.executed.find((statement) => statement.sqlText.includes("insert into raw.events"));
    expect(insert?.sqlText).toContain("object_construct(");
    expect(insert?.sqlText).toContain(`from ${loadTable}`);
    expect(insert?.binds).toHaveLength(1);
    expect(statements.at(-1)).toBe(`drop table if exists ${loadTable}`);
    // The order that makes the load all-or-nothing: stage, copy, one insert, clean up.
    const order = ["put ", "copy into", "insert into raw.events", "drop table"].map((prefix) =>
      statements.findIndex((sql) => sql.startsWith(prefix)),
    );
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The local temporary file is gone afterwards.
    expect(existsSync(putFiles.at(-1)?.split(":")[0] ?? "")).toBe(false);
  });

  it("merges the catalog by SKU so a reload replaces products", async () => {
    const file = join(folder, "sku_to_content.csv");
    await writeFile(
      file,
      'product_sku_hash,description_vector,category_hash,image_vector,price_bucket\nA,"[1,2]",c,"[3]",2\n',
    );
    await loadFile(warehouse, file, { format: "coveo-catalog", tenant: "shop" });
    const merge = connection.executed.find((statement) => statement.sqlText.includes("merge into raw.products"));
    expect(merge?.sqlText).toContain("parse_json(description_vector)::array");
    expect(merge?.binds).toHaveLength(2);
  });

  it("drops the temporary table even when the insert fails", async () => {
    connection.failOn = /insert into raw\.events/;
    const file = join(folder, "one.tsv");
    await writeFile(file, "1\t100\t1396396800\n");
    await expect(loadFile(warehouse, file, { format: "rsc15", tenant: "shop" })).rejects.toThrow(/SQL execution error/);
    expect(connection.executed.at(-1)?.sqlText).toMatch(/^drop table if exists raw\.pms_load_/);
  });
});
