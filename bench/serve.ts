/**
 * `npm run bench -- serve [--model <model.tar.gz>] [--data <clicks.tsv>] [--duration 10] [--workers <n>]`
 *
 * Starts the serving entry point as its own process (as the container runs it, with its default
 * worker count unless `--workers` is given) and drives it with autocannon at 1, 16 and 64
 * connections: one request per connection at a time, one test-day session prefix per request, k = 20.
 * Goals: ≥ 1,500 req/s at 64 connections with p99 ≤ 50 ms; p99 ≤ 10 ms at 1 connection.
 * The model defaults to the one `npm run bench -- model` leaves in bench/results/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import autocannon from "autocannon";
import { readClickLog, splitByDay } from "../core/data/click-log.ts";
import { servingWorkers } from "../training-image/src/serve.ts";

function flag(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(name);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the server did not answer /ping within 120 s");
}

export async function run(args: string[]): Promise<unknown> {
  const model = flag(args, "--model", new URL("./results/model.tar.gz", import.meta.url).pathname);
  const data = flag(args, "--data", "../shared/data/yoochoose-clicks-100k_train_full.txt");
  const duration = Number(flag(args, "--duration", "10"));
  const port = Number(flag(args, "--port", "18080"));
  // The server's own default unless given, passed explicitly so the results name it.
  const workers = Number(flag(args, "--workers", String(servingWorkers(process.env))));
  if (!existsSync(model)) throw new Error(`No model at ${model}: run \`npm run bench -- model\` first or pass --model`);

  const { test } = splitByDay(await readClickLog(data), "2014-04-06");
  const bodies = test.slice(0, 2000).map((items, index) => {
    const cut = 1 + (index % Math.max(1, items.length - 1));
    return JSON.stringify({ sessions: [items.slice(0, cut)], k: 20 });
  });

  const url = `http://127.0.0.1:${port}`;
  const entry = new URL("../training-image/src/main.ts", import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      entry,
      "serve",
      "--model",
      model,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--workers",
      String(workers),
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    await waitForPing(url, child);
    const results = [];
    for (const connections of [1, 16, 64]) {
      const loadBefore = Number(loadavg()[0]?.toFixed(2));
      let next = 0;
      const result = await autocannon({
        url: `${url}/invocations`,
        connections,
        duration,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
          },
        ],
      });
      const figures = {
        connections,
        requestsPerSecond: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        loadAverageBefore: loadBefore,
        loadAverage: Number(loadavg()[0]?.toFixed(2)),
      };
      console.error(JSON.stringify(figures));
      results.push(figures);
    }
    return { model, workers, durationSeconds: duration, results };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}
