#!/usr/bin/env node
// The package's `pms` bin: the CLI is TypeScript run by tsx (no build step), so register tsx's ESM
// loader first, then load the real entry point.
import { register } from "tsx/esm/api";

register();
await import("./pms.ts");
