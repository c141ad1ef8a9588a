import { DuckDBWarehouse } from "./core/warehouse/duckdb.ts";
import { loadFile } from "./core/data/load/load.ts";
const dir = "/tmp/pms-trunc";
const w = new DuckDBWarehouse({ path: `${dir}/w.duckdb` });
try { const r = await loadFile(w, `${dir}/a.tsv`, { format: "rsc15", tenant: "t" }); console.log("load ok", r.rows); } catch (e) { console.log("load err", (e as Error).message.slice(0, 300)); }
try { console.log(await w.query("select sum(length(raw_data::varchar)) s, count(distinct etl_id) n from raw.events")); } catch (e) { console.log("read err", (e as Error).message.slice(0, 300)); }
await w.close();
