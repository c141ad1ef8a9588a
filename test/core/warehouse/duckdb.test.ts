import { mkdtemp, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkWarehouseFileComplete,
  DuckDBWarehouse,
  defaultWarehousePath,
  WarehouseFileTruncatedError,
  WarehouseQueryError,
} from "../../../core/warehouse/duckdb.ts";

describe("DuckDBWarehouse", () => {
  let warehouse: DuckDBWarehouse;
  afterEach(async () => {
    await warehouse?.close();
  });

  it("defaults to warehouse.duckdb under PMS_HOME, or .pms in the working directory", () => {
    expect(defaultWarehousePath({ PMS_HOME: "/srv/pms" })).toBe("/srv/pms/warehouse.duckdb");
    expect(defaultWarehousePath({})).toBe(`${process.cwd()}/.pms/warehouse.duckdb`);
  });

  it("returns rows with lower-case keys, binds every value, and turns exact bigints into numbers", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const rows = await warehouse.query<{ n: number; label: string; big: bigint | number }>(
      "select ?::bigint + 1 as N, ? as Label, 9223372036854775807::bigint as big",
      { binds: [41, "it's"] },
    );
    expect(rows).toEqual([{ n: 42, label: "it's", big: 9223372036854775807n }]);
  });

  it("keeps one session across calls, so a transaction spans several queries", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await warehouse.query("create table t (x integer)");
    await warehouse.query("begin transaction");
    await warehouse.query("insert into t values (1)");
    await warehouse.query("rollback");
    expect(await warehouse.query("select count(*) as n from t")).toEqual([{ n: 0 }]);
  });

  it("runs a started statement in the background and reports its status and results", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const id = await warehouse.start("select sum(range) as total from range(?)", { binds: [1000] });
    expect(["running", "succeeded"]).toContain((await warehouse.status(id)).state);
    expect(await warehouse.wait(id)).toEqual({ state: "succeeded" });
    expect(await warehouse.results(id)).toEqual([{ total: 499500 }]);
  });

  it("reports a failed background statement with the database's message", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    const id = await warehouse.start("select * from no_such_table");
    const status = await warehouse.wait(id);
    expect(status.state).toBe("failed");
    expect(status.state === "failed" && status.message).toMatch(/no_such_table/);
    await expect(warehouse.results(id)).rejects.toThrow(/has not succeeded/);
  });

  it("names the problem for an unknown query id and for a bad statement", async () => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
    await expect(warehouse.status("nope")).rejects.toThrow(/Unknown DuckDB query id nope/);
    await expect(warehouse.query("selec 1")).rejects.toBeInstanceOf(WarehouseQueryError);
  });
});

describe("DuckDBWarehouse memory limit", () => {
  it("caps DuckDB's buffer pool (1GB unless configured), so big runs spill instead of growing", async () => {
    const capped = new DuckDBWarehouse({ path: ":memory:" });
    const custom = new DuckDBWarehouse({ path: ":memory:", memoryLimit: "512MB" });
    const limit = async (warehouse: DuckDBWarehouse) =>
      (await warehouse.query<{ limit: string }>("select current_setting('memory_limit') as limit"))[0]?.limit;
    expect(await limit(capped)).toBe("953.6 MiB");
    expect(await limit(custom)).toBe("488.2 MiB");
    await capped.close();
    await custom.close();
  });
});

describe("a truncated warehouse file", () => {
  it("is refused by name before DuckDB opens it, and stays byte for byte as it was", async () => {
    // Prepare: a checkpointed file of several blocks (its own instance, closed so the header is final), cut in half.
    const folder = await mkdtemp(join(tmpdir(), "pms-truncated-"));
    const path = join(folder, "warehouse.duckdb");
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run("create table events as select range as id, repeat('x', 50) as payload from range(300000)");
    connection.closeSync();
    instance.closeSync();
    const whole = (await stat(path)).size;
    expect(() => checkWarehouseFileComplete(path)).not.toThrow();
    const complete = await readFile(path);
    await truncate(path, Math.floor(whole / 2));
    const before = await readFile(path);

    // Act
    const truncated = new DuckDBWarehouse({ path });
    const error = await truncated.query("select count(*) from events").catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(WarehouseFileTruncatedError);
    expect((error as Error).message).toMatch(
      /is truncated: its header declares \d+ blocks \(\d+ bytes\), the file has \d+ bytes\. Nothing was written/,
    );
    expect((await readFile(path)).equals(before)).toBe(true);
    // DuckDB itself drops free blocks from the end of a file: whole blocks missing at the tail are not a truncation.
    const BLOCK_BYTES = 262_144;
    await writeFile(path, complete.subarray(0, whole - BLOCK_BYTES));
    expect(() => checkWarehouseFileComplete(path)).not.toThrow();
    await writeFile(path, "not a database at all");
    expect(() => checkWarehouseFileComplete(path)).toThrow(/truncated or not a DuckDB database/);
  });
});
