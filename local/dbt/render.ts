import { Environment } from "minijinja-js";
import {
  type DbtProject,
  DbtProjectError,
  DbtUnsupportedError,
  MATERIALIZATIONS,
  type Materialization,
} from "./project.ts";

/** A model, test or macro failed to render; names the file and what Jinja reported. */
export class DbtRenderError extends Error {
  override readonly name = "DbtRenderError";
}

export interface DbtTarget {
  readonly name: string;
  readonly type: "duckdb";
  readonly schema: string;
  readonly threads: number;
}

export interface ModelConfig {
  readonly materialized: Materialization;
  readonly uniqueKey?: readonly string[];
  readonly incrementalStrategy: "delete+insert" | "merge" | "append";
}

export interface RenderedNode {
  readonly sql: string;
  readonly refs: readonly string[];
  readonly sources: readonly string[];
  readonly config: Readonly<Record<string, unknown>>;
}

export interface RenderContext {
  /** The relation of the node being rendered (`this`); models only. */
  readonly thisRelation?: string;
  readonly isIncremental?: boolean;
}

const MACRO_MODULE = "__project_macros__";

/** Config keys that only change Snowflake's physical layout: valid in the project, meaningless on DuckDB. */
const WAREHOUSE_ONLY_CONFIG = [
  "cluster_by",
  "transient",
  "snowflake_warehouse",
  "copy_grants",
  "query_tag",
  "automatic_clustering",
];
const MODEL_CONFIG_KEYS = [
  "materialized",
  "unique_key",
  "incremental_strategy",
  "tags",
  "enabled",
  ...WAREHOUSE_ONLY_CONFIG,
];
const STRATEGIES = ["delete+insert", "merge", "append"] as const;

const DISPATCH = /adapter\.dispatch\(\s*(['"])(\w+)\1\s*(?:,\s*(?:macro_namespace\s*=\s*)?(['"])(\w+)\3\s*)?\)/g;

/** JS receives a call's keyword arguments as a trailing Map. */
function splitArgs(args: unknown[]): { positional: unknown[]; kwargs: Record<string, unknown> } {
  const last = args.at(-1);
  if (last instanceof Map)
    return {
      positional: args.slice(0, -1),
      kwargs: Object.fromEntries(toPlain(last) as [string, unknown][]) as Record<string, unknown>,
    };
  return { positional: args, kwargs: {} };
}

function toPlain(value: unknown): unknown {
  if (value instanceof Map) return [...value.entries()].map(([key, inner]) => [key, plainJinjaValue(inner)]);
  return value;
}

function plainJinjaValue(value: unknown): unknown {
  if (value instanceof Map)
    return Object.fromEntries([...value.entries()].map(([key, inner]) => [key, plainJinjaValue(inner)]));
  if (Array.isArray(value)) return value.map(plainJinjaValue);
  return value;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Renders the project's SQL with minijinja (a real Jinja2 engine), providing the dbt context the
 * project uses: ref, source, var, config, target, this, is_incremental, env_var, log and
 * `adapter.dispatch` over the project's macros. Any other dbt construct is an unknown name, which
 * the strict undefined mode turns into an error naming the file and the construct.
 */
export class DbtRenderer {
  private readonly env = new Environment();
  private readonly macroNames: string[];

  constructor(
    private readonly project: DbtProject,
    readonly target: DbtTarget,
    private readonly vars: Readonly<Record<string, unknown>>,
  ) {
    this.env.undefinedBehavior = "strict";
    this.env.enablePyCompat();
    const sources: string[] = [];
    const names: string[] = [];
    for (const macro of project.macroFiles) {
      for (const match of macro.source.matchAll(/\{%-?\s*macro\s+(\w+)/g)) if (match[1]) names.push(match[1]);
    }
    this.macroNames = names;
    for (const macro of project.macroFiles) sources.push(this.rewrite(macro.file, macro.source));
    try {
      this.env.addTemplate(MACRO_MODULE, sources.join("\n"));
    } catch (error) {
      throw new DbtRenderError(
        `macros (${project.macroFiles.map((m) => m.file).join(", ")}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Resolves `adapter.dispatch('name', 'project')` to `duckdb__name` (or `default__name`), as dbt does for this adapter. */
  private rewrite(file: string, source: string): string {
    const rewritten = source.replace(DISPATCH, (_match, _q, name: string, _q2, namespace?: string) => {
      if (namespace !== undefined && namespace !== this.project.name) {
        throw new DbtUnsupportedError(file, `adapter.dispatch('${name}', '${namespace}')`, "macros from packages");
      }
      for (const candidate of [`${this.target.type}__${name}`, `default__${name}`]) {
        if (this.macroNames.includes(candidate)) return candidate;
      }
      throw new DbtProjectError(
        `${file}: adapter.dispatch('${name}') found neither ${this.target.type}__${name} nor default__${name}`,
      );
    });
    const leftover = /adapter\.\w+/.exec(rewritten);
    if (leftover) {
      const line = rewritten.slice(0, leftover.index).split("\n").length;
      throw new DbtUnsupportedError(`${file}:${line}`, leftover[0], "only adapter.dispatch(name, macro_namespace) is");
    }
    return rewritten;
  }

  relation(model: string): string {
    return `${quoteIdentifier(this.target.schema)}.${quoteIdentifier(model)}`;
  }

  sourceRelation(source: string, table: string, file: string): string {
    const found = this.project.sources.get(`${source}.${table}`);
    if (!found)
      throw new DbtProjectError(`${file}: source('${source}', '${table}') is not declared in any sources yml`);
    return `${quoteIdentifier(found.schema)}.${quoteIdentifier(found.identifier)}`;
  }

  var(name: string, fallback?: unknown): unknown {
    if (name in this.vars) return this.vars[name];
    if (name in this.project.vars) return this.project.vars[name];
    if (fallback !== undefined) return fallback;
    throw new DbtProjectError(`Required var '${name}' not found in the run's vars or dbt_project.yml`);
  }

  render(file: string, source: string, context: RenderContext = {}): RenderedNode {
    const refs: string[] = [];
    const sources: string[] = [];
    const config: Record<string, unknown> = {};
    const fail = (construct: string, detail?: string): never => {
      throw new DbtUnsupportedError(file, construct, detail);
    };
    const globals: Record<string, unknown> = {
      ref: (...args: unknown[]) => {
        const { positional, kwargs } = splitArgs(args);
        if (positional.length !== 1 || Object.keys(kwargs).length > 0)
          fail(`ref(${positional.map(String).join(", ")})`, "only ref('model') is");
        const model = String(positional[0]);
        if (!this.project.models.has(model))
          throw new DbtProjectError(`${file}: ref('${model}') names no model of the project`);
        refs.push(model);
        return this.relation(model);
      },
      source: (...args: unknown[]) => {
        const { positional } = splitArgs(args);
        if (positional.length !== 2) fail("source() with other than two arguments");
        sources.push(`${positional[0]}.${positional[1]}`);
        return this.sourceRelation(String(positional[0]), String(positional[1]), file);
      },
      var: (...args: unknown[]) => {
        const { positional } = splitArgs(args);
        try {
          return this.var(String(positional[0]), positional[1]);
        } catch (error) {
          throw new DbtProjectError(`${file}: ${(error as Error).message}`);
        }
      },
      config: (...args: unknown[]) => {
        const { positional, kwargs } = splitArgs(args);
        if (positional.length > 0) fail("config() with positional arguments");
        for (const key of Object.keys(kwargs)) if (!MODEL_CONFIG_KEYS.includes(key)) fail(`config(${key}=...)`);
        Object.assign(config, kwargs);
        return "";
      },
      env_var: (...args: unknown[]) => {
        const { positional } = splitArgs(args);
        const value = process.env[String(positional[0])] ?? positional[1];
        if (value === undefined)
          throw new DbtProjectError(`${file}: env_var('${positional[0]}') is not set and has no default`);
        return String(value);
      },
      log: () => "",
      is_incremental: () => context.isIncremental === true,
      target: { ...this.target },
    };
    if (context.thisRelation !== undefined) globals.this = context.thisRelation;
    // A JS exception thrown inside a minijinja callback traps the WebAssembly instance (and corrupts
    // it for every later render in the process), so callbacks record their error and return "";
    // the render is then failed with that error.
    let callbackError: Error | undefined;
    for (const [name, value] of Object.entries(globals)) {
      this.env.removeGlobal(name);
      this.env.addGlobal(
        name,
        typeof value === "function"
          ? (...args: unknown[]) => {
              if (callbackError) return "";
              try {
                return (value as (...inner: unknown[]) => unknown)(...args);
              } catch (error) {
                callbackError = error as Error;
                return "";
              }
            }
          : value,
      );
    }
    if (context.thisRelation === undefined) this.env.removeGlobal("this");
    const imports =
      this.macroNames.length > 0 ? `{% from '${MACRO_MODULE}' import ${this.macroNames.join(", ")} %}` : "";
    const template = imports + this.rewrite(file, source);
    let sql: string;
    try {
      this.env.removeTemplate(file);
      this.env.addTemplate(file, template);
      sql = this.env.renderTemplate(file, {});
    } catch (error) {
      if (callbackError) throw callbackError;
      if (error instanceof DbtUnsupportedError || error instanceof DbtProjectError) throw error;
      const message = (error as Error).message ?? String(error);
      const cause = /^(DbtUnsupported|DbtProjectError)/.test(message) ? message : message.split("\n")[0];
      throw new DbtRenderError(
        `${file}: cannot render (${cause}). The local dbt runner provides ref, source, var, config, target, this, is_incremental, env_var, log, adapter.dispatch and the project's macros.`,
        { cause: error },
      );
    }
    if (callbackError) throw callbackError;
    return { sql: sql.trim(), refs: [...new Set(refs)], sources: [...new Set(sources)], config };
  }
}

/** Folder config from dbt_project.yml, overridden by the model's own config(). */
export function modelConfig(
  project: DbtProject,
  file: string,
  folders: readonly string[],
  own: Readonly<Record<string, unknown>>,
): ModelConfig {
  const merged: Record<string, unknown> = {};
  for (let depth = 0; depth <= folders.length; depth++) {
    Object.assign(merged, project.folderConfig[folders.slice(0, depth).join("/")] ?? {});
  }
  Object.assign(merged, own);
  const materialized = String(merged.materialized ?? "view");
  if (!(MATERIALIZATIONS as readonly string[]).includes(materialized)) {
    throw new DbtUnsupportedError(file, `materialized='${materialized}'`, `supported: ${MATERIALIZATIONS.join(", ")}`);
  }
  const strategy = String(merged.incremental_strategy ?? (merged.unique_key ? "delete+insert" : "append"));
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new DbtUnsupportedError(file, `incremental_strategy='${strategy}'`, `supported: ${STRATEGIES.join(", ")}`);
  }
  const key = merged.unique_key;
  const uniqueKey =
    key === undefined || key === null ? undefined : Array.isArray(key) ? key.map(String) : [String(key)];
  if (strategy !== "append" && materialized === "incremental" && !uniqueKey) {
    throw new DbtProjectError(`${file}: incremental_strategy='${strategy}' needs a unique_key`);
  }
  return {
    materialized: materialized as Materialization,
    ...(uniqueKey ? { uniqueKey } : {}),
    incrementalStrategy: strategy as ModelConfig["incrementalStrategy"],
  };
}
