#!/usr/bin/env node
// `npm run build [outdir]` (and `prepare`, so `npm install` / `npm ci` run it): the CLI and the training
// image's entry point (training and serving) as plain JavaScript in dist/, so `pms` and the
// processes it starts skip tsx's compile-on-load. Dependencies stay in node_modules (external);
// lazily loaded commands become their own chunks, so `pms --help` loads only what help needs.
// dist/build-info.json lists the sources that went in: bin/pms.mjs runs the bundle only while none
// of them is newer, and falls back to the TypeScript sources otherwise.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist";
const started = Date.now();
await rm(outdir, { recursive: true, force: true });
await mkdir(outdir);
const result = await build({
  entryPoints: { pms: "bin/pms.ts", main: "training-image/src/main.ts" },
  outdir,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunk-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});
const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith("node_modules/"));
await writeFile(
  `${outdir}/build-info.json`,
  `${JSON.stringify({ builtAt: started, inputs: [...inputs, "package.json", "package-lock.json"] }, null, 2)}\n`,
);
console.error(
  `dist/: pms.mjs and main.mjs from ${inputs.length} sources in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
