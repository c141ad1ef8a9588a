import { afterEach, describe, expect, it } from "vitest";
import { DuckDBWarehouse, defaultWarehousePath, WarehouseQueryError } from "../../../core/warehouse/duckdb.ts";

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
