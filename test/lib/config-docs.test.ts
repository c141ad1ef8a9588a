import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { DeployConfigSchema } from "../../lib/config.ts";
import { projectPath } from "../../lib/project-paths.ts";

/** The object schema under defaults, optionals and pipes, or undefined for a leaf. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let current = schema as unknown as { _zod: { def: Record<string, unknown> } };
  for (;;) {
    const def = current._zod.def;
    if (def.type === "object") return def.shape as Record<string, z.ZodType>;
    const inner = (def.innerType ?? def.in) as typeof current | undefined;
    if (!inner) return undefined;
    current = inner;
  }
}

/** Every configuration key one level into each section (`dbtCloud.apiBaseUrl`), and the top-level leaves. */
function configKeys(): string[] {
  const top = objectShape(DeployConfigSchema as unknown as z.ZodType) ?? {};
  return Object.entries(top).flatMap(([section, schema]) => {
    const shape = objectShape(schema);
    return shape ? Object.keys(shape).map((key) => `${section}.${key}`) : [section];
  });
}

/** The first cell of each row of docs/infra.md's configuration table. */
function documentedKeyCells(): string[] {
  const text = readFileSync(projectPath("docs/infra.md"), "utf8");
  const table = text.slice(text.indexOf("## Configuration"), text.indexOf("### What each function gets"));
  return table
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|")[1] ?? "");
}

describe("docs/infra.md's configuration table", () => {
  it("documents every key the deploy configuration accepts", () => {
    // A row may name several keys of one section: `snowflake.user` / `role` / `warehouse`.
    const cells = documentedKeyCells();
    const documented = (key: string) => {
      const [section, leaf] = key.split(".");
      return cells.some(
        (cell) =>
          cell.includes(`\`${key}\``) ||
          // A nested object's keys have rows of their own: `sagemaker.alarms.modelLatencyP99Ms`.
          cell.includes(`\`${key}.`) ||
          (leaf !== undefined && cell.includes(`\`${section}.`) && cell.includes(`\`${leaf}\``)),
      );
    };
    expect(configKeys().filter((key) => !documented(key))).toEqual([]);
    expect(configKeys()).toContain("snowflake.extractTimeoutMinutes");
  });

  it("says where to find the dbt Cloud access URL an account must use", () => {
    const row = readFileSync(projectPath("docs/infra.md"), "utf8")
      .split("\n")
      .find((line) => line.startsWith("| `dbtCloud.apiBaseUrl`"));
    expect(row).toMatch(/Account settings → Access URLs/);
    expect(row).toMatch(/us1\.dbt\.com/);
  });
});
