import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * `dbt-project/` against dbt's published JSON Schemas (dbt-labs/dbt-jsonschema, copied into
 * test/fixtures/dbt-jsonschema): the local runner re-implements dbt, so this is what keeps the project
 * something real dbt (dbt Cloud) accepts.
 */
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PROJECT = join(REPO, "dbt-project");
const SCHEMAS = join(REPO, "test/fixtures/dbt-jsonschema");

async function validator(file: string) {
  const schema = JSON.parse(await readFile(join(SCHEMAS, file), "utf8")) as Record<string, unknown>;
  // The schemas carry editor hints (markdownDescription…) that strict mode would reject as unknown keywords.
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message}`).join("\n");
}

async function propertyFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

describe("dbt-project/ against dbt's JSON Schemas", () => {
  it("has a dbt_project.yml that the dbt_project schema accepts", async () => {
    const validate = await validator("dbt_project-latest.json");
    const project = parse(await readFile(join(PROJECT, "dbt_project.yml"), "utf8")) as unknown;
    expect(validate(project), describeErrors(validate.errors)).toBe(true);
  });

  it("has property files (models, sources, tests) that the dbt_yml_files schema accepts", async () => {
    const validate = await validator("dbt_yml_files-latest.json");
    const files = [...(await propertyFiles(join(PROJECT, "models"))), ...(await propertyFiles(join(PROJECT, "tests")))];
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      const document = parse(await readFile(file, "utf8")) as unknown;
      expect(validate(document), `${relative(REPO, file)}:\n${describeErrors(validate.errors)}`).toBe(true);
    }
  });

  it("rejects what dbt would reject (the check can fail)", async () => {
    const validateProject = await validator("dbt_project-latest.json");
    expect(validateProject({ version: "1.0.0", "config-version": 2 })).toBe(false);
    const validateProperties = await validator("dbt_yml_files-latest.json");
    expect(validateProperties({ version: 2, models: [{ columns: [{ name: "x" }] }] })).toBe(false);
  });
});
