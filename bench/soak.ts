/**
 * `npm run bench -- soak [--minutes 3] [--swaps 12] [--connections 8]`: the local endpoint under
 * steady load for minutes, across many blue/green swaps (each followed by the pipeline's clean-up of
 * the old process), one deployment whose model cannot start (the old model must keep serving), and
 * one roll-back (as after a failed smoke test). The figures that matter: every request answered
 * (0 errors, 0 non-2xx, 0 timeouts) and the front proxy's memory flat (RSS at start and end).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../core/model/backend.ts";
import { freePort, LocalModelHost } from "../local/model-host.ts";
import { load, tinyModel } from "./endpoint.ts";

const ENDPOINT = "pms-soak";

function option(args: string[], flag: string, fallback: number): number {
  const index = args.indexOf(flag);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number`);
  return value;
}

/** Resident memory of a process in MiB, from /proc (Linux); undefined elsewhere. */
function rssMiB(pid: number | null | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

const pause = (seconds: number) => new Promise((resolvePause) => setTimeout(resolvePause, seconds * 1000));

export async function run(args: string[]) {
  const minutes = option(args, "--minutes", 3);
  const swaps = option(args, "--swaps", 12);
  const connections = option(args, "--connections", 8);
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  const home = await mkdtemp(join(tmpdir(), "pms-bench-soak-"));
  const host = new LocalModelHost({ home, port: await freePort(), endpointName: ENDPOINT });
  try {
    const models = [await tinyModel(home, "a", 3), await tinyModel(home, "b", 5)];
    await host.deploy({ endpointName: ENDPOINT, runId: "run-0", shortId: "soak-000", modelUri: models[0] as string });
    const first = await host.read();
    if (!first?.current || first.proxyPid === null) throw new Error("the first deployment did not start");
    await load(first.port, connections, 5).result; // warm-up: the proxy's and the model's first requests

    const proxyRssStart = rssMiB(first.proxyPid);
    const proxyRssSamples: number[] = [];
    const events: { at: number; event: string; seconds: number; serving: string | undefined }[] = [];
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
    const steady = load(first.port, connections);
    const gap = (minutes * 60) / (swaps + 3);

    const step = async (event: string, change: () => Promise<unknown>) => {
      await pause(gap);
      const at = elapsed();
      const began = performance.now();
      await change();
      const state = await host.read();
      events.push({
        at,
        event,
        seconds: Math.round((performance.now() - began) / 10) / 100,
        serving: state?.current?.runId,
      });
      const rss = rssMiB(state?.proxyPid);
      if (rss !== undefined) proxyRssSamples.push(rss);
    };

    for (let swap = 1; swap <= swaps; swap++) {
      const runId = `run-${swap}`;
      const modelUri = models[swap % 2] as string;
      await step(`swap to ${runId}`, async () => {
        await host.deploy({
          endpointName: ENDPOINT,
          runId,
          shortId: `soak-${String(swap).padStart(3, "0")}`,
          modelUri,
        });
        await host.cleanUp({ endpointName: ENDPOINT, keep: 0, protect: [] });
      });
      if (swap === Math.ceil(swaps / 2)) {
        await step("deployment that cannot start (missing model)", () =>
          host.deploy({
            endpointName: ENDPOINT,
            runId: "run-broken",
            shortId: "soak-broken",
            modelUri: join(home, "missing.tar.gz"),
          }),
        );
        await step("deployment rolled back (as after a failed smoke test)", async () => {
          const before = await host.read();
          await host.deploy({
            endpointName: ENDPOINT,
            runId: "run-rolled-back",
            shortId: "soak-rolled",
            modelUri: models[(swap + 1) % 2] as string,
          });
          await host.rollBack(ENDPOINT, before?.current?.endpointConfigName ?? "");
        });
      }
    }
    await pause(gap);
    steady.stop();
    const result = await steady.result;
    const last = await host.read();
    const seconds = Math.round((performance.now() - started) / 1000);
    return {
      minutes: Math.round((seconds / 60) * 10) / 10,
      connections,
      swaps,
      requests: result.requests,
      requestsPerSecond: result.requestsPerSecond,
      failed: result.errors + result.non2xx + result.timeouts,
      errors: result.errors,
      non2xx: result.non2xx,
      timeouts: result.timeouts,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      proxyRssMiB: {
        start: proxyRssStart,
        end: rssMiB(last?.proxyPid),
        min: Math.min(...proxyRssSamples),
        max: Math.max(...proxyRssSamples),
      },
      servingRssMiBAtEnd: rssMiB(last?.current?.pid),
      servingAtEnd: last?.current?.runId,
      events,
    };
  } finally {
    await host.deleteEndpoint(ENDPOINT);
    await rm(home, { recursive: true, force: true });
  }
}
