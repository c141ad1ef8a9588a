import type { DuckDBConnection } from "@duckdb/node-api";
import type { DuckDBWarehouse } from "../../core/warehouse/duckdb.ts";
import {
  type DbtProject,
  DbtProjectError,
  type GenericTest,
  type ModelFile,
  type RelationRef,
  type SchemaTest,
} from "./project.ts";
import { DbtRenderer, type DbtTarget, type ModelConfig, modelConfig, quoteIdentifier } from "./render.ts";

export type NodeStatus = "success" | "error" | "skipped" | "pass" | "fail" | "warn";

export interface NodeResult {
  readonly kind: "model" | "test";
  readonly name: string;
  readonly file: string;
  readonly status: NodeStatus;
  /** Models: rows in the relation (tables) or inserted (incremental); tests: failing rows. */
  readonly rows: number | null;
  readonly seconds: number;
  readonly materialization?: ModelConfig["materialized"];
  readonly message?: string;
}

export interface DbtRunReport {
  readonly success: boolean;
  readonly results: readonly NodeResult[];
  readonly seconds: number;
  /** The first error or failing test, named — what a failed run reports. */
  readonly message?: string;
}

export interface DbtRunOptions {
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Rebuild incremental models from scratch. @default false */
  readonly fullRefresh?: boolean;
  /** @default { name: "local", type: "duckdb", schema: "main", threads: 1 } */
  readonly target?: Partial<DbtTarget>;
  /** Each dbt-style log line as it happens. */
  readonly log?: (line: string) => void;
  /** Checked between nodes: true stops the run (the remaining nodes are skipped). */
  readonly cancelled?: () => boolean;
  /** Run the schema and singular tests after the models (dbt build). @default true */
  readonly test?: boolean;
  /** Build the models; false runs only the tests against what is there (dbt test). @default true */
  readonly models?: boolean;
}

interface PlannedModel {
  readonly model: ModelFile;
  readonly refs: readonly string[];
  readonly config: ModelConfig;
}

/** Orders models so that every model runs after the models it refs; a cycle is an error. */
export function planModels(project: DbtProject, renderer: DbtRenderer): PlannedModel[] {
  const parsed = new Map<string, PlannedModel>();
  for (const model of project.models.values()) {
    const rendered = renderer.render(model.file, model.source, {
      thisRelation: renderer.relation(model.name),
      isIncremental: false,
    });
    parsed.set(model.name, {
      model,
      refs: rendered.refs,
      config: modelConfig(project, model.file, model.folders, rendered.config),
    });
  }
  const ordered: PlannedModel[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new DbtProjectError(`ref cycle: ${[...path, name].join(" -> ")}`);
    state.set(name, "visiting");
    const node = parsed.get(name) as PlannedModel;
    for (const ref of node.refs) visit(ref, [...path, name]);
    state.set(name, "done");
    ordered.push(node);
  };
  for (const name of [...parsed.keys()].sort()) visit(name, []);
  return ordered;
}

function sqlLiteral(value: string | number | boolean, quote: boolean): string {
  if (!quote || typeof value !== "string") return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

/** The failing-rows query of a generic test, as dbt's built-in tests define it. */
export function genericTestSql(
  relation: string,
  column: string,
  test: GenericTest,
  resolve: (ref: RelationRef) => string,
): string {
  const col = quoteIdentifier(column);
  switch (test.kind) {
    case "unique":
      return `select ${col} as unique_field, count(*) as n_records from ${relation} where ${col} is not null group by ${col} having count(*) > 1`;
    case "not_null":
      return `select * from ${relation} where ${col} is null`;
    case "accepted_values":
      return `select ${col} as value_field, count(*) as n_records from ${relation} where ${col} not in (${test.values
        .map((value) => sqlLiteral(value, test.quote))
        .join(", ")}) group by ${col}`;
    case "relationships":
      return `select child.${col} as from_field from ${relation} as child left join ${resolve(test.to)} as parent on child.${col} = parent.${quoteIdentifier(test.field)} where child.${col} is not null and parent.${quoteIdentifier(test.field)} is null`;
  }
}

async function relationExists(connection: DuckDBConnection, schema: string, name: string): Promise<boolean> {
  const reader = await connection.runAndReadAll(
    "select count(*) as n from information_schema.tables where table_schema = $1 and table_name = $2",
    [schema, name],
  );
  return Number(reader.getRows()[0]?.[0] ?? 0) > 0;
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(sql);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

/** Materializes one model on DuckDB; returns the rows it holds (table) or inserted (incremental). */
async function materialize(
  connection: DuckDBConnection,
  relation: string,
  sql: string,
  config: ModelConfig,
  incremental: boolean,
): Promise<number | null> {
  switch (config.materialized) {
    case "view":
      await connection.run(`create or replace view ${relation} as\n${sql}`);
      return null;
    case "table":
      await connection.run(`create or replace table ${relation} as\n${sql}`);
      return scalar(connection, `select count(*) from ${relation}`);
    case "incremental": {
      if (!incremental) {
        await connection.run(`create or replace table ${relation} as\n${sql}`);
        return scalar(connection, `select count(*) from ${relation}`);
      }
      const staged = quoteIdentifier(`${relation.split(".").at(-1)?.replaceAll('"', "")}__dbt_tmp`);
      await connection.run("begin transaction");
      try {
        await connection.run(`create or replace temp table ${staged} as\n${sql}`);
        if (config.incrementalStrategy !== "append" && config.uniqueKey) {
          const match = config.uniqueKey
            .map((key) => `${staged}.${quoteIdentifier(key)} = ${relation}.${quoteIdentifier(key)}`)
            .join(" and ");
          await connection.run(`delete from ${relation} where exists (select 1 from ${staged} where ${match})`);
        }
        await connection.run(`insert into ${relation} by name select * from ${staged}`);
        const inserted = await scalar(connection, `select count(*) from ${staged}`);
        await connection.run(`drop table ${staged}`);
        await connection.run("commit");
        return inserted;
      } catch (error) {
        await connection.run("rollback");
        throw error;
      }
    }
  }
}

function describe(config: ModelConfig | undefined): string {
  return config?.materialized === "view"
    ? "sql view model"
    : config?.materialized === "incremental"
      ? "sql incremental model"
      : "sql table model";
}

/**
 * `dbt build` on DuckDB: every model in ref order with its materialization, then every schema and
 * singular test. A model that fails skips the models downstream of it; a failing test (severity
 * error) fails the run and is named in its message.
 */
export async function runDbtProject(
  project: DbtProject,
  warehouse: DuckDBWarehouse,
  options: DbtRunOptions = {},
): Promise<DbtRunReport> {
  const started = performance.now();
  const target: DbtTarget = { name: "local", type: "duckdb", schema: "main", threads: 1, ...options.target };
  const log = options.log ?? (() => {});
  const renderer = new DbtRenderer(project, target, options.vars ?? {});
  const plan = planModels(project, renderer);
  const tests: { name: string; file: string; sql: string; severity: "error" | "warn"; dependsOn: string[] }[] = [];
  const resolve = (ref: RelationRef): string =>
    "ref" in ref ? renderer.relation(ref.ref) : renderer.sourceRelation(ref.source[0], ref.source[1], "schema test");
  for (const test of project.schemaTests as SchemaTest[]) {
    const dependsOn = [test.on, ...(test.test.kind === "relationships" ? [test.test.to] : [])].flatMap((ref) =>
      "ref" in ref ? [ref.ref] : [],
    );
    tests.push({
      name: test.name,
      file: test.file,
      severity: test.severity,
      dependsOn,
      sql: genericTestSql(resolve(test.on), test.column, test.test, resolve),
    });
  }
  for (const test of project.singularTests) {
    const rendered = renderer.render(test.file, test.source);
    tests.push({
      name: test.name,
      file: test.file,
      severity: "error",
      dependsOn: [...rendered.refs],
      sql: rendered.sql,
    });
  }

  const db = await warehouse.database();
  const connection = await db.connect();
  const results: NodeResult[] = [];
  const failedModels = new Set<string>();
  const models = options.models === false ? [] : plan;
  const total = models.length + (options.test === false ? 0 : tests.length);
  let index = 0;
  const stamp = (): string => `${++index} of ${total}`;
  try {
    await connection.run(`create schema if not exists ${quoteIdentifier(target.schema)}`);
    for (const { model, refs, config } of models) {
      const position = stamp();
      const relation = renderer.relation(model.name);
      const nodeStarted = performance.now();
      if (options.cancelled?.() || refs.some((ref) => failedModels.has(ref))) {
        failedModels.add(model.name);
        results.push({
          kind: "model",
          name: model.name,
          file: model.file,
          status: "skipped",
          rows: null,
          seconds: 0,
          materialization: config.materialized,
        });
        log(`${position} SKIP relation ${target.schema}.${model.name}`);
        continue;
      }
      log(`${position} START ${describe(config)} ${target.schema}.${model.name}`);
      try {
        const incremental =
          config.materialized === "incremental" &&
          !options.fullRefresh &&
          (await relationExists(connection, target.schema, model.name));
        const { sql } = renderer.render(model.file, model.source, {
          thisRelation: relation,
          isIncremental: incremental,
        });
        const rows = await materialize(connection, relation, sql, config, incremental);
        const seconds = (performance.now() - nodeStarted) / 1000;
        results.push({
          kind: "model",
          name: model.name,
          file: model.file,
          status: "success",
          rows,
          seconds,
          materialization: config.materialized,
        });
        log(
          `${position} OK created ${describe(config)} ${target.schema}.${model.name} [${rows === null ? "CREATE VIEW" : `${incremental ? "INSERT" : "SELECT"} ${rows}`} in ${seconds.toFixed(2)}s]`,
        );
      } catch (error) {
        failedModels.add(model.name);
        const seconds = (performance.now() - nodeStarted) / 1000;
        const message = `model ${model.name} (${model.file}): ${(error as Error).message}`;
        results.push({
          kind: "model",
          name: model.name,
          file: model.file,
          status: "error",
          rows: null,
          seconds,
          materialization: config.materialized,
          message,
        });
        log(
          `${position} ERROR creating ${describe(config)} ${target.schema}.${model.name} [ERROR in ${seconds.toFixed(2)}s]\n  ${message}`,
        );
      }
    }
    if (options.test !== false) {
      for (const test of tests) {
        const position = stamp();
        const nodeStarted = performance.now();
        if (options.cancelled?.() || test.dependsOn.some((model) => failedModels.has(model))) {
          results.push({ kind: "test", name: test.name, file: test.file, status: "skipped", rows: null, seconds: 0 });
          log(`${position} SKIP test ${test.name}`);
          continue;
        }
        try {
          const failures = await scalar(connection, `select count(*) from (\n${test.sql}\n) as dbt_test`);
          const seconds = (performance.now() - nodeStarted) / 1000;
          const status: NodeStatus = failures === 0 ? "pass" : test.severity === "warn" ? "warn" : "fail";
          const message =
            failures === 0 ? undefined : `test ${test.name} (${test.file}) got ${failures} failing row(s)`;
          results.push({
            kind: "test",
            name: test.name,
            file: test.file,
            status,
            rows: failures,
            seconds,
            ...(message ? { message } : {}),
          });
          log(
            `${position} ${status.toUpperCase()}${failures > 0 ? ` ${failures}` : ""} ${test.name} [${status.toUpperCase()} in ${seconds.toFixed(2)}s]`,
          );
        } catch (error) {
          const seconds = (performance.now() - nodeStarted) / 1000;
          const message = `test ${test.name} (${test.file}): ${(error as Error).message}`;
          results.push({
            kind: "test",
            name: test.name,
            file: test.file,
            status: "error",
            rows: null,
            seconds,
            message,
          });
          log(`${position} ERROR ${test.name} [ERROR in ${seconds.toFixed(2)}s]\n  ${message}`);
        }
      }
    }
  } finally {
    connection.closeSync();
  }
  const problem = results.find((result) => result.status === "error" || result.status === "fail");
  const cancelled = options.cancelled?.() === true;
  const seconds = (performance.now() - started) / 1000;
  const counts = (status: NodeStatus) => results.filter((result) => result.status === status).length;
  log(
    `Done. PASS=${counts("pass") + counts("success")} WARN=${counts("warn")} ERROR=${counts("error") + counts("fail")} SKIP=${counts("skipped")} TOTAL=${results.length} in ${seconds.toFixed(2)}s`,
  );
  return {
    success: !problem && !cancelled,
    results,
    seconds,
    ...(problem?.message ? { message: problem.message } : cancelled ? { message: "cancelled" } : {}),
  };
}

/** dbt's results as a dbt user reads them: "4 models ok; 48 tests passed", or which failed, warned or were skipped. */
export function describeDbtResults(results: readonly NodeResult[]): string {
  const describeKind = (kind: NodeResult["kind"], ok: NodeStatus, okWord: string) => {
    const nodes = results.filter((result) => result.kind === kind);
    const label = `${nodes.length} ${kind}${nodes.length === 1 ? "" : "s"}`;
    const tally = new Map<string, number>();
    for (const node of nodes) {
      const word =
        node.status === ok
          ? okWord
          : node.status === "fail" || node.status === "error"
            ? "failed"
            : node.status === "warn"
              ? "warned"
              : "skipped";
      tally.set(word, (tally.get(word) ?? 0) + 1);
    }
    if (tally.size <= 1) return `${label} ${[...tally.keys()][0] ?? okWord}`;
    return `${label} (${[...tally].map(([word, n]) => `${n} ${word}`).join(", ")})`;
  };
  return `${describeKind("model", "success", "ok")}; ${describeKind("test", "pass", "passed")}`;
}
