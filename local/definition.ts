import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type AslDefinition, type CfnTemplate, definitionFromTemplate } from "./asl.ts";
import type { PmsHome } from "./home.ts";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What the synthesized definition depends on: the infrastructure code and its configuration. */
const DEFINITION_SOURCES = ["lib", "bin/app.ts", "cdk.json", "core/pipeline", "package-lock.json"];

async function filesUnder(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true, recursive: true });
    return entries
      .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
      .map((entry) => join(entry.parentPath, entry.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return [path];
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** A hash over the definition's sources, so an edit to the stack re-synthesizes and nothing else does. */
export async function definitionSourceHash(root = PROJECT_ROOT): Promise<string> {
  const hash = createHash("sha256");
  const files = (await Promise.all(DEFINITION_SOURCES.map((source) => filesUnder(join(root, source))))).flat().sort();
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update("\0");
    hash.update(await readFile(file));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The state machine the cloud runs, as ASL: synthesized from the CDK app once per change of its
 * sources (synthesis takes seconds; a cached definition loads in milliseconds) and kept under
 * `$PMS_HOME/cache/`.
 */
export async function loadPipelineDefinition(
  home: PmsHome,
  synthesize: () => Promise<CfnTemplate> | CfnTemplate,
  options: { readonly sourceHash?: string } = {},
): Promise<{ readonly definition: AslDefinition; readonly cached: boolean; readonly path: string }> {
  const sourceHash = options.sourceHash ?? (await definitionSourceHash());
  const path = join(home.cache, `state-machine-${sourceHash}.asl.json`);
  try {
    return { definition: JSON.parse(await readFile(path, "utf8")) as AslDefinition, cached: true, path };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const definition = definitionFromTemplate(await synthesize());
  await mkdir(home.cache, { recursive: true });
  const temporary = `${path}.${process.pid}.partial`;
  await writeFile(temporary, `${JSON.stringify(definition, null, 2)}\n`);
  await rename(temporary, path);
  return { definition, cached: false, path };
}

/**
 * The CDK app of `bin/app.ts`, synthesized in this process: the same stack class and the same
 * cdk.json configuration, with Lambda bundling skipped (the ASL does not depend on the bundles and
 * esbuild-ing every handler would triple the time). Stack `env` stays unset: no AWS lookups offline.
 */
export async function synthesizePipelineTemplate(outdir: string): Promise<CfnTemplate> {
  const [{ App }, { loadDeployConfig }, { PipelineStack }] = await Promise.all([
    import("aws-cdk-lib"),
    import("../lib/config.ts"),
    import("../lib/pipeline-stack.ts"),
  ]);
  const cdkJson = JSON.parse(await readFile(join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ outdir, context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
  const config = loadDeployConfig(app);
  const stack = new PipelineStack(app, "PostModernStack", { stackName: `${config.namePrefix}-pipeline`, config });
  return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
}
