#!/usr/bin/env node
// The package's `pms` bin. It runs the prebuilt CLI in dist/ (`npm run build`, which `npm install`
// runs through `prepare`) when that bundle is at least as new as every source that went into it;
// otherwise (a source edited since, or no build) the TypeScript sources through tsx's loader, so an
// edit is live at once.
import { readFileSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);

function prebuiltIsCurrent() {
  try {
    const info = JSON.parse(readFileSync(new URL("dist/build-info.json", root), "utf8"));
    return info.inputs.every((input) => statSync(new URL(input, root)).mtimeMs <= info.builtAt);
  } catch {
    return false;
  }
}

if (prebuiltIsCurrent()) {
  await import("../dist/pms.mjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./pms.ts");
}
