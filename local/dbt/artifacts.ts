import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DbtProject } from "./project.ts";
import type { DbtRunReport, NodeResult } from "./runner.ts";

/**
 * The local runner's invocation as dbt's own artifacts, `target/run_results.json` (schema v6) and
 * `target/manifest.json` (schema v12), so tools that read dbt artifacts (elementary, dbt-artifacts
 * parsers, a CI step that counts test failures) work on a local run. Shapes from
 * https://docs.getdbt.com/reference/artifacts/run-results-json and
 * https://docs.getdbt.com/reference/artifacts/manifest-json: the keys those schemas require, with
 * what this runner knows (no catalog, no compiled SQL per node, one thread).
 */
export const RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json";
export const MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json";
/** The dbt version whose artifact schemas these follow (dbt_project.yml requires >= 1.8). */
const DBT_VERSION = "1.8.0";

export interface DbtInvocation {
  readonly invocationId: string;
  readonly startedAt: Date;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly targetName: string;
  readonly schema: string;
}

/** `model.<project>.<name>`; generic tests get dbt's hash suffix so ids stay unique across files. */
export function uniqueId(project: string, node: Pick<NodeResult, "kind" | "name" | "file">): string {
  if (node.kind === "model") return `model.${project}.${node.name}`;
  const generic = node.file.endsWith(".yml") || node.file.endsWith(".yaml");
  return generic
    ? `test.${project}.${node.name}.${createHash("sha256").update(`${node.file}:${node.name}`).digest("hex").slice(0, 10)}`
    : `test.${project}.${node.name}`;
}

function metadata(schema: string, invocation: DbtInvocation, generatedAt: Date) {
  return {
    dbt_schema_version: schema,
    dbt_version: DBT_VERSION,
    generated_at: generatedAt.toISOString(),
    invocation_id: invocation.invocationId,
    invocation_started_at: invocation.startedAt.toISOString(),
    env: {},
  };
}

export function runResultsArtifact(
  project: DbtProject,
  report: DbtRunReport,
  invocation: DbtInvocation,
  generatedAt = new Date(),
) {
  // One thread, nodes in order: each node starts when the one before it ended.
  let clock = invocation.startedAt.getTime();
  const results = report.results.map((node) => {
    const started = new Date(clock);
    clock += node.seconds * 1000;
    const completed = new Date(clock);
    return {
      status: node.status,
      timing:
        node.status === "skipped"
          ? []
          : [{ name: "execute", started_at: started.toISOString(), completed_at: completed.toISOString() }],
      thread_id: "Thread-1",
      execution_time: node.seconds,
      adapter_response: node.kind === "model" && node.rows !== null ? { _message: "OK", rows_affected: node.rows } : {},
      message: node.message ?? (node.kind === "model" ? (node.status === "success" ? "OK" : null) : null),
      failures: node.kind === "test" ? node.rows : null,
      unique_id: uniqueId(project.name, node),
      compiled: node.status !== "skipped",
      compiled_code: null,
      relation_name: node.kind === "model" ? `"${invocation.schema}"."${node.name}"` : null,
    };
  });
  return {
    metadata: metadata(RUN_RESULTS_SCHEMA, invocation, generatedAt),
    results,
    elapsed_time: report.seconds,
    args: { which: "build", vars: invocation.vars, target: invocation.targetName },
  };
}

export function manifestArtifact(
  project: DbtProject,
  report: DbtRunReport,
  invocation: DbtInvocation,
  generatedAt = new Date(),
) {
  const nodes: Record<string, unknown> = {};
  const parentMap: Record<string, string[]> = {};
  const childMap: Record<string, string[]> = {};
  for (const node of report.results) {
    const id = uniqueId(project.name, node);
    const path = node.file.replace(/^(models|tests)\//, "");
    nodes[id] = {
      database: null,
      schema: invocation.schema,
      name: node.name,
      resource_type: node.kind,
      package_name: project.name,
      path,
      original_file_path: node.file,
      unique_id: id,
      fqn: [
        project.name,
        ...path
          .replace(/\.(sql|ya?ml)$/, "")
          .split("/")
          .slice(0, -1),
        node.name,
      ],
      alias: node.name,
      checksum: { name: "none", checksum: "" },
      config: node.kind === "model" ? { materialized: node.materialization ?? "view" } : { severity: "ERROR" },
      tags: [],
      description: "",
      columns: {},
      meta: {},
      depends_on: { macros: [], nodes: [] },
      refs: [],
      sources: [],
      created_at: invocation.startedAt.getTime() / 1000,
    };
    parentMap[id] = [];
    childMap[id] = [];
  }
  return {
    metadata: {
      ...metadata(MANIFEST_SCHEMA, invocation, generatedAt),
      project_name: project.name,
      adapter_type: "duckdb",
    },
    nodes,
    sources: {},
    macros: {},
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: parentMap,
    child_map: childMap,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
}

/** Writes both artifacts into `targetDir` (dbt's `target/`), each atomically. */
export async function writeDbtArtifacts(
  targetDir: string,
  project: DbtProject,
  report: DbtRunReport,
  invocation: Omit<DbtInvocation, "invocationId"> & { readonly invocationId?: string },
): Promise<{ runResults: string; manifest: string }> {
  const full: DbtInvocation = { ...invocation, invocationId: invocation.invocationId ?? randomUUID() };
  await mkdir(targetDir, { recursive: true });
  const write = async (name: string, document: unknown) => {
    const path = join(targetDir, name);
    const temporary = `${path}.${process.pid}.partial`;
    await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`);
    await rename(temporary, path);
    return path;
  };
  return {
    runResults: await write("run_results.json", runResultsArtifact(project, report, full)),
    manifest: await write("manifest.json", manifestArtifact(project, report, full)),
  };
}
