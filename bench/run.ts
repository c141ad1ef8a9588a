/**
 * `npm run bench -- <name> [args…]`: runs bench/<name>.ts, prints its figures and writes them as
 * JSON to bench/results/<name>.json. Speed and memory targets live here, never in tests.
 */
import { mkdir, writeFile } from "node:fs/promises";
import "../local/polyfills.ts";

const BENCHMARKS = ["data", "model", "serve", "eval", "endpoint", "nextday", "soak"] as const;

const [name, ...args] = process.argv.slice(2);
if (!name || !(BENCHMARKS as readonly string[]).includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHMARKS.join("|")}> [options]`);
  process.exit(2);
}
const module = (await import(`./${name}.ts`)) as { run(args: string[]): Promise<unknown> };
const figures = await module.run(args);
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const out = new URL(`./results/${name}.json`, import.meta.url);
await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
console.log(JSON.stringify(figures, null, 2));
console.log(`written to ${out.pathname}`);
