import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Whether this code runs from the prebuilt bundle in dist/ (`npm run build`, plain JavaScript) or
 * from the TypeScript sources through tsx. The processes it starts follow suit: a prebuilt CLI
 * starts prebuilt children, so no process of a local run pays for compiling TypeScript.
 */
export const RUNNING_PREBUILT = !import.meta.url.endsWith(".ts");

/** local/ and dist/ both sit one level below the repository root. */
const REPOSITORY = new URL("../", import.meta.url);

/** `--import <tsx>` by absolute URL, so a child finds tsx from any working directory. */
export function tsxImportArgs(): readonly string[] {
  return RUNNING_PREBUILT ? [] : ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];
}

/**
 * The node arguments that start a program: its bundle under dist/ when prebuilt, else its
 * TypeScript source through tsx. `source` and `prebuilt` are relative to the repository root.
 */
export function nodeEntryArgs(entry: { readonly source: string; readonly prebuilt: string }): readonly string[] {
  return RUNNING_PREBUILT
    ? [fileURLToPath(new URL(entry.prebuilt, REPOSITORY))]
    : [...tsxImportArgs(), fileURLToPath(new URL(entry.source, REPOSITORY))];
}

/** The training container's entry point (`train` and `serve`). */
export const TRAINING_IMAGE_ENTRY = { source: "training-image/src/main.ts", prebuilt: "dist/main.mjs" } as const;
