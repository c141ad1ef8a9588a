import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBWarehouse } from "../../../core/warehouse/duckdb.ts";
import { loadDbtProject } from "../../../local/dbt/project.ts";
import { DbtRenderer, type DbtTarget } from "../../../local/dbt/render.ts";
import { DBT_PROJECT_DIR } from "../../core/data/fixtures.ts";

/**
 * The `sql_string` macro as each dialect renders it. DuckDB runs here, so its literal is read back by
 * the engine; no Snowflake account exists, so its literal is read back by the rules of Snowflake's
 * single-quoted constants (docs.snowflake.com/en/sql-reference/data-types-text, "Escape sequences in
 * single-quoted string constants": a backslash escapes the next character, `''` is a quote).
 */
const TRAINING_SESSIONS = join(DBT_PROJECT_DIR, "models", "marts", "training_sessions.sql");
const HOSTILE = ["\\' or 1=1 --", "ends with a backslash\\", "o'brien", "\\\\'; drop table x; --", "plain"];

/** Reads one Snowflake single-quoted constant from the start of `sql`: its value and where it ends. */
function readSnowflakeLiteral(sql: string): { value: string; end: number } {
  if (sql[0] !== "'") throw new Error(`not a literal: ${sql}`);
  let value = "";
  for (let index = 1; index < sql.length; index++) {
    const char = sql[index];
    if (char === "\\") {
      value += sql[index + 1] ?? "";
      index++;
    } else if (char === "'") {
      if (sql[index + 1] === "'") {
        value += "'";
        index++;
      } else return { value, end: index + 1 };
    } else value += char;
  }
  throw new Error(`unterminated literal: ${sql}`);
}

async function rendererFor(type: "duckdb" | "snowflake", tenant: string): Promise<DbtRenderer> {
  const project = await loadDbtProject(DBT_PROJECT_DIR);
  // The local runner only executes on DuckDB; rendering for Snowflake needs only the dispatch.
  const target = { name: type, type, schema: "main", threads: 1 } as unknown as DbtTarget;
  return new DbtRenderer(project, target, { tenant, window_start: "2024-01-01", window_end: "2024-01-07" });
}

function literalIn(sql: string): string {
  const at = sql.indexOf("where tenant = ");
  expect(at).toBeGreaterThan(-1);
  return sql.slice(at + "where tenant = ".length);
}

describe("sql_string, per dialect", () => {
  let warehouse: DuckDBWarehouse;
  beforeAll(() => {
    warehouse = new DuckDBWarehouse({ path: ":memory:" });
  });
  afterAll(async () => {
    await warehouse.close();
  });

  it("renders the tenant of training_sessions as one Snowflake literal holding exactly the value", async () => {
    for (const tenant of HOSTILE) {
      // Act
      const renderer = await rendererFor("snowflake", tenant);
      const { sql } = renderer.render("training_sessions.sql", await readFile(TRAINING_SESSIONS, "utf8"), {
        thisRelation: renderer.relation("training_sessions"),
      });

      // Assess: the literal ends where the macro's output ends, and reads back as the tenant.
      const literal = readSnowflakeLiteral(literalIn(sql));
      expect(literal.value, tenant).toBe(tenant);
      expect(literalIn(sql).slice(literal.end), tenant).toMatch(/^\s+and session_date >= /);
    }
    const { sql } = (await rendererFor("snowflake", "\\' or 1=1 --")).render(
      "m.sql",
      "{{ sql_string(var('tenant')) }}",
    );
    expect(sql).toBe("'\\\\'' or 1=1 --'");
  });

  it("renders the same values as DuckDB literals that DuckDB reads back unchanged", async () => {
    for (const tenant of HOSTILE) {
      // Act
      const renderer = await rendererFor("duckdb", tenant);
      const { sql } = renderer.render("m.sql", "select {{ sql_string(var('tenant')) }} as value");
      const rows = await warehouse.query<{ value: string }>(sql);

      // Assess
      expect(rows, tenant).toEqual([{ value: tenant }]);
    }
  });
});
