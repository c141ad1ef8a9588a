import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";

/** The project uses something this runner does not implement; names the file and the construct. */
export class DbtUnsupportedError extends Error {
  override readonly name = "DbtUnsupported";
  constructor(
    readonly file: string,
    readonly construct: string,
    detail?: string,
    options?: ErrorOptions,
  ) {
    super(
      `${file}: ${construct} is not supported by the local dbt runner${detail ? ` (${detail})` : ""}; see docs/data.md for what it supports`,
      options,
    );
  }
}

/** The project is not valid dbt (a missing file, a ref to no model, a cycle…). */
export class DbtProjectError extends Error {
  override readonly name = "DbtProjectError";
}

export type Materialization = "view" | "table" | "incremental";
export const MATERIALIZATIONS: readonly Materialization[] = ["view", "table", "incremental"];

export type GenericTest =
  | { readonly kind: "unique" }
  | { readonly kind: "not_null" }
  | {
      readonly kind: "accepted_values";
      readonly values: readonly (string | number | boolean)[];
      readonly quote: boolean;
    }
  | { readonly kind: "relationships"; readonly to: RelationRef; readonly field: string };

export type RelationRef = { readonly ref: string } | { readonly source: readonly [string, string] };

export interface SchemaTest {
  readonly name: string;
  /** The yml file that declares it. */
  readonly file: string;
  readonly on: RelationRef;
  readonly column: string;
  readonly test: GenericTest;
  readonly severity: "error" | "warn";
}

export interface ModelFile {
  readonly name: string;
  /** Relative to the project folder, e.g. `models/staging/stg_browsing_events.sql`. */
  readonly file: string;
  /** Folders under the model path, for folder-level config (`staging`, `marts`). */
  readonly folders: readonly string[];
  readonly source: string;
}

export interface SourceTable {
  readonly source: string;
  readonly table: string;
  readonly schema: string;
  readonly database?: string;
  readonly identifier: string;
  readonly file: string;
}

export interface SingularTest {
  readonly name: string;
  readonly file: string;
  readonly source: string;
}

export interface DbtProject {
  readonly dir: string;
  readonly name: string;
  readonly vars: Readonly<Record<string, unknown>>;
  /** `+key: value` settings per folder path under `models:` → `<project>:`. */
  readonly folderConfig: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly models: ReadonlyMap<string, ModelFile>;
  readonly macroFiles: readonly { readonly file: string; readonly source: string }[];
  readonly sources: ReadonlyMap<string, SourceTable>;
  readonly schemaTests: readonly SchemaTest[];
  readonly singularTests: readonly SingularTest[];
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(file: string, where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new DbtUnsupportedError(file, `${where} key "${key}"`);
  }
}

const PROJECT_KEYS = [
  "name",
  "version",
  "config-version",
  "require-dbt-version",
  "profile",
  "model-paths",
  "macro-paths",
  "test-paths",
  "target-path",
  "clean-targets",
  "vars",
  "models",
];
const FOLDER_CONFIG_KEYS = ["+materialized", "+tags", "+enabled"];

/** `ref('x')` or `source('a', 'b')` as written in a relationships test's `to:`. */
export function parseRelationRef(file: string, text: string): RelationRef {
  const ref = /^\s*ref\(\s*['"]([\w]+)['"]\s*\)\s*$/.exec(text);
  if (ref?.[1]) return { ref: ref[1] };
  const source = /^\s*source\(\s*['"]([\w]+)['"]\s*,\s*['"]([\w]+)['"]\s*\)\s*$/.exec(text);
  if (source?.[1] && source[2]) return { source: [source[1], source[2]] };
  throw new DbtUnsupportedError(file, `relationships "to: ${text}"`, "write ref('model') or source('name', 'table')");
}

function relationName(on: RelationRef): string {
  return "ref" in on ? on.ref : `${on.source[0]}_${on.source[1]}`;
}

function parseTests(file: string, on: RelationRef, column: string, tests: unknown): SchemaTest[] {
  if (tests === undefined || tests === null) return [];
  if (!Array.isArray(tests)) throw new DbtProjectError(`${file}: data_tests of column ${column} must be a list`);
  const prefix = "source" in on ? "source_" : "";
  return tests.map((entry): SchemaTest => {
    const [kind, rawArgs] =
      typeof entry === "string" ? [entry, {}] : isRecord(entry) ? (Object.entries(entry)[0] ?? []) : [];
    if (typeof kind !== "string")
      throw new DbtProjectError(`${file}: a test of column ${column} is not a name or a mapping`);
    const args = isRecord(rawArgs) ? { ...rawArgs, ...(isRecord(rawArgs.arguments) ? rawArgs.arguments : {}) } : {};
    const config = isRecord(args.config) ? args.config : {};
    checkKeys(file, `test ${kind} config`, config, ["severity"]);
    const severity = String(config.severity ?? "error").toLowerCase();
    if (severity !== "error" && severity !== "warn")
      throw new DbtProjectError(`${file}: severity must be error or warn`);
    const base = { file, on, column, severity: severity as "error" | "warn" };
    const target = relationName(on);
    switch (kind) {
      case "unique":
      case "not_null":
        checkKeys(file, `test ${kind}`, args, ["config"]);
        return { ...base, name: `${prefix}${kind}_${target}_${column}`, test: { kind } };
      case "accepted_values": {
        checkKeys(file, "test accepted_values", args, ["values", "quote", "config", "arguments"]);
        if (!Array.isArray(args.values) || args.values.length === 0) {
          throw new DbtProjectError(`${file}: accepted_values on ${target}.${column} needs a non-empty values list`);
        }
        const values = args.values as (string | number | boolean)[];
        return {
          ...base,
          name: `${prefix}accepted_values_${target}_${column}__${values.join("__")}`,
          test: { kind, values, quote: args.quote !== false },
        };
      }
      case "relationships": {
        checkKeys(file, "test relationships", args, ["to", "field", "config", "arguments"]);
        if (typeof args.to !== "string" || typeof args.field !== "string") {
          throw new DbtProjectError(`${file}: relationships on ${target}.${column} needs "to" and "field"`);
        }
        const to = parseRelationRef(file, args.to);
        return {
          ...base,
          name: `${prefix}relationships_${target}_${column}__${args.field}__${relationName(to)}`,
          test: { kind, to, field: args.field },
        };
      }
      default:
        throw new DbtUnsupportedError(
          file,
          `generic test "${kind}"`,
          "supported: unique, not_null, accepted_values, relationships",
        );
    }
  });
}

function columnsOf(file: string, owner: string, columns: unknown): { name: string; tests: unknown }[] {
  if (columns === undefined) return [];
  if (!Array.isArray(columns)) throw new DbtProjectError(`${file}: columns of ${owner} must be a list`);
  return columns.map((column) => {
    if (!isRecord(column) || typeof column.name !== "string") {
      throw new DbtProjectError(`${file}: every column of ${owner} needs a name`);
    }
    checkKeys(file, `column ${owner}.${column.name}`, column, [
      "name",
      "description",
      "data_tests",
      "tests",
      "data_type",
      "meta",
    ]);
    return { name: column.name, tests: column.data_tests ?? column.tests };
  });
}

/** Reads a dbt project folder: dbt_project.yml, models (sql + yml), macros, singular tests. */
export async function loadDbtProject(dir: string): Promise<DbtProject> {
  const projectFile = join(dir, "dbt_project.yml");
  const config = parseYaml(await readFile(projectFile, "utf8")) as unknown;
  if (!isRecord(config) || typeof config.name !== "string") {
    throw new DbtProjectError(`${projectFile}: not a dbt project (no name)`);
  }
  checkKeys("dbt_project.yml", "dbt_project.yml", config, PROJECT_KEYS);
  const modelPaths = (config["model-paths"] as string[] | undefined) ?? ["models"];
  const macroPaths = (config["macro-paths"] as string[] | undefined) ?? ["macros"];
  const testPaths = (config["test-paths"] as string[] | undefined) ?? ["tests"];

  const folderConfig: Record<string, Record<string, unknown>> = {};
  const projectModels = isRecord(config.models) ? config.models[config.name] : undefined;
  const collect = (node: unknown, path: string[]): void => {
    if (!isRecord(node)) return;
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith("+")) {
        if (!FOLDER_CONFIG_KEYS.includes(key))
          throw new DbtUnsupportedError("dbt_project.yml", `model config "${key}"`);
        own[key.slice(1)] = value;
      } else collect(value, [...path, key]);
    }
    folderConfig[path.join("/")] = own;
  };
  collect(projectModels, []);

  const models = new Map<string, ModelFile>();
  const sources = new Map<string, SourceTable>();
  const schemaTests: SchemaTest[] = [];
  const modelYml: { file: string; entry: Record<string, unknown> }[] = [];
  for (const modelPath of modelPaths) {
    for (const path of await walk(join(dir, modelPath))) {
      const file = relative(dir, path);
      if (path.endsWith(".sql")) {
        const name = path.slice(path.lastIndexOf("/") + 1, -4);
        if (models.has(name)) throw new DbtProjectError(`${file}: a second model named ${name}`);
        const folders = relative(join(dir, modelPath), path).split("/").slice(0, -1);
        models.set(name, { name, file, folders, source: await readFile(path, "utf8") });
      } else if (path.endsWith(".yml") || path.endsWith(".yaml")) {
        const doc = parseYaml(await readFile(path, "utf8")) as unknown;
        if (!isRecord(doc)) continue;
        checkKeys(file, "properties file", doc, ["version", "models", "sources"]);
        for (const entry of (doc.models as unknown[] | undefined) ?? []) {
          if (!isRecord(entry) || typeof entry.name !== "string")
            throw new DbtProjectError(`${file}: a model without a name`);
          checkKeys(file, `model ${entry.name}`, entry, [
            "name",
            "description",
            "columns",
            "data_tests",
            "tests",
            "config",
          ]);
          if (entry.data_tests ?? entry.tests)
            throw new DbtUnsupportedError(file, `model-level tests on ${entry.name}`);
          if (entry.config !== undefined)
            throw new DbtUnsupportedError(
              file,
              `config: in the yml of ${entry.name}`,
              "set it in the model's config() or dbt_project.yml",
            );
          modelYml.push({ file, entry });
        }
        for (const sourceEntry of (doc.sources as unknown[] | undefined) ?? []) {
          if (!isRecord(sourceEntry) || typeof sourceEntry.name !== "string")
            throw new DbtProjectError(`${file}: a source without a name`);
          checkKeys(file, `source ${sourceEntry.name}`, sourceEntry, [
            "name",
            "description",
            "schema",
            "database",
            "loaded_at_field",
            "freshness",
            "tables",
            "meta",
          ]);
          for (const table of (sourceEntry.tables as unknown[] | undefined) ?? []) {
            if (!isRecord(table) || typeof table.name !== "string")
              throw new DbtProjectError(`${file}: a source table without a name`);
            checkKeys(file, `source table ${sourceEntry.name}.${table.name}`, table, [
              "name",
              "description",
              "identifier",
              "columns",
              "loaded_at_field",
              "freshness",
              "meta",
            ]);
            const sourceTable: SourceTable = {
              source: sourceEntry.name,
              table: table.name,
              schema: typeof sourceEntry.schema === "string" ? sourceEntry.schema : sourceEntry.name,
              ...(typeof sourceEntry.database === "string" ? { database: sourceEntry.database } : {}),
              identifier: typeof table.identifier === "string" ? table.identifier : table.name,
              file,
            };
            for (const text of [sourceTable.schema, sourceTable.identifier, sourceTable.database ?? ""]) {
              if (text.includes("{{"))
                throw new DbtUnsupportedError(file, "Jinja in a source's schema/database/identifier");
            }
            sources.set(`${sourceEntry.name}.${table.name}`, sourceTable);
            const on: RelationRef = { source: [sourceEntry.name, table.name] };
            for (const column of columnsOf(file, `${sourceEntry.name}.${table.name}`, table.columns)) {
              schemaTests.push(...parseTests(file, on, column.name, column.tests));
            }
          }
        }
      }
    }
  }
  for (const { file, entry } of modelYml) {
    const name = entry.name as string;
    if (!models.has(name)) throw new DbtProjectError(`${file}: properties for model ${name}, which has no .sql file`);
    for (const column of columnsOf(file, name, entry.columns)) {
      schemaTests.push(...parseTests(file, { ref: name }, column.name, column.tests));
    }
  }

  const macroFiles: { file: string; source: string }[] = [];
  for (const macroPath of macroPaths) {
    for (const path of await walk(join(dir, macroPath))) {
      if (path.endsWith(".sql")) macroFiles.push({ file: relative(dir, path), source: await readFile(path, "utf8") });
    }
  }
  const singularTests: SingularTest[] = [];
  for (const testPath of testPaths) {
    for (const path of await walk(join(dir, testPath))) {
      if (!path.endsWith(".sql")) continue;
      const file = relative(dir, path);
      singularTests.push({
        name: path.slice(path.lastIndexOf("/") + 1, -4),
        file,
        source: await readFile(path, "utf8"),
      });
    }
  }

  return {
    dir,
    name: config.name,
    vars: isRecord(config.vars) ? config.vars : {},
    folderConfig,
    models,
    macroFiles,
    sources,
    schemaTests,
    singularTests,
  };
}
