import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshDeploymentState, startDeployment } from "../../core/deploy/deployment-state.ts";
import { runSmokeTest } from "../../core/deploy/smoke-test.ts";
import type { DeploymentState } from "../../core/pipeline/contracts.ts";
import { createRollBackDeploymentHandler } from "../../lambdas/roll-back-deployment/handler.ts";
import { freePort, LocalModelHost, readEndpointState } from "../../local/model-host.ts";

/**
 * The local ModelHost's swap mechanics under load. The model room's serving process is not in the
 * tree yet, so the backends are a stub process that follows the serving contract
 * (test/local/fixtures/stub-serving-process.mjs); the host starts it exactly as it starts the real
 * one (a detached process per model, `--model <uri> --port <port>`).
 */
const STUB = fileURLToPath(new URL("./fixtures/stub-serving-process.mjs", import.meta.url));
const ENDPOINT = "pms-local";
const SESSIONS = [["214536502", "214536500"], ["214577561"], ["214662742", "214662742", "214825110"]];

let home: string;
let host: LocalModelHost;
let port: number;

async function model(name: string, content: string): Promise<string> {
  const path = join(home, `${name}.json`);
  await writeFile(path, content);
  return path;
}

const items = Array.from({ length: 30 }, (_, index) => String(214536500 + index));
/** Each answer takes 30 ms, so requests are always in flight when the proxy switches. */
const good = (name: string) => JSON.stringify({ name, items, delayMs: 30 });

function request(shortId: string, modelUri: string) {
  return { endpointName: ENDPOINT, runId: `run-${shortId}`, shortId, modelUri };
}

/**
 * A bounded load generator on 127.0.0.1: `workers` concurrent loops of POST /invocations until
 * stopped, counting every request, every failure (network error, non-200, or an answer that breaks
 * the contract) and which model answered.
 */
function generateLoad(workers = 6) {
  let running = true;
  const counts = { total: 0, failed: 0, byModel: new Map<string, number>(), last: "" };
  const failures: string[] = [];
  const loop = async () => {
    while (running) {
      counts.total += 1;
      try {
        const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sessions: SESSIONS, k: 20 }),
        });
        const body = (await response.json()) as { recommendations?: { sku: string }[][] };
        const first = body.recommendations?.[0]?.[0]?.sku;
        if (!response.ok || body.recommendations?.length !== SESSIONS.length || !first) {
          counts.failed += 1;
          failures.push(`${response.status} ${JSON.stringify(body).slice(0, 120)}`);
          continue;
        }
        const served = first.split("-")[0] ?? "?";
        counts.byModel.set(served, (counts.byModel.get(served) ?? 0) + 1);
        counts.last = served;
      } catch (error) {
        counts.failed += 1;
        failures.push(String(error));
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    counts,
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { total: counts.total, failed: counts.failed, byModel: Object.fromEntries(counts.byModel) };
    },
  };
}

const pause = (ms: number) => new Promise((resolvePause) => setTimeout(resolvePause, ms));

function stubHost(startupTimeoutMs: number): LocalModelHost {
  return new LocalModelHost({
    home,
    port,
    endpointName: ENDPOINT,
    serverCommand: (modelUri, backendPort) => ({
      command: process.execPath,
      args: [STUB, "--model", modelUri, "--port", String(backendPort)],
    }),
    startupTimeoutMs,
    drainTimeoutMs: 5000,
  });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "pms-endpoint-"));
  port = await freePort();
  // Generous: seven other engineers share the two cores, and a process start can take seconds.
  host = stubHost(20_000);
});

afterAll(async () => {
  await host?.deleteEndpoint(ENDPOINT);
});

describe("LocalModelHost", () => {
  let deployedA: DeploymentState;

  it("starts the first model behind the proxy and reports it InService like SageMaker", async () => {
    // Act
    deployedA = await startDeployment(host, request("a0000001", await model("A", good("A"))), { timeoutSeconds: 60 });
    const checked = await refreshDeploymentState(host, deployedA);

    // Assess
    expect(deployedA).toMatchObject({
      endpointConfigName: "pms-local-a0000001",
      previousEndpointConfigName: null,
      status: "Creating",
    });
    expect(checked).toMatchObject({ status: "InService", finished: true, succeeded: true });
    const response = await host.invoke(ENDPOINT, { sessions: SESSIONS, k: 5 });
    expect(response.recommendations).toHaveLength(3);
    expect(response.recommendations[0]?.map((item) => item.sku)).toEqual(items.slice(0, 5).map((sku) => `A-${sku}`));
    const state = await readEndpointState(home);
    expect(state).toMatchObject({ port, status: "InService", current: { runId: "run-a0000001" }, previous: null });
    // The file holds the control token: only its owner may read it.
    expect((await stat(join(home, "endpoint.json"))).mode & 0o777).toBe(0o600);
  });

  it("swaps to model B under load without a single failed request", async () => {
    // Prepare
    const load = generateLoad();
    await pause(400);

    // Act
    const deployedB = await startDeployment(host, request("b0000002", await model("B", good("B"))), {
      timeoutSeconds: 60,
    });
    await pause(400);
    const counts = await load.stop();
    console.info(`[load] swap A→B: ${JSON.stringify(counts)}`);

    // Assess
    expect(load.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.byModel.A).toBeGreaterThan(0);
    expect(counts.byModel.B).toBeGreaterThan(0);
    expect(load.counts.last).toBe("B");
    expect(deployedB.previousEndpointConfigName).toBe("pms-local-a0000001");
    expect(await refreshDeploymentState(host, deployedB)).toMatchObject({ succeeded: true, finished: true });
    // A is kept (running) until the pipeline is done with B, so a failed smoke test can go back to it.
    const state = await readEndpointState(home);
    expect(state?.previous?.endpointConfigName).toBe("pms-local-a0000001");
    expect(() => process.kill(state?.previous?.pid ?? -1, 0)).not.toThrow();
  });

  it("keeps B serving when model C cannot start, and reports the update as failed", async () => {
    // Prepare
    const load = generateLoad();
    await pause(200);

    // Act: a corrupt model makes the serving process exit at start.
    const deployedC = await startDeployment(host, request("c0000003", await model("C", "{not json")), {
      timeoutSeconds: 60,
    });
    const checked = await refreshDeploymentState(host, deployedC);
    await pause(200);
    const counts = await load.stop();
    console.info(`[load] broken C: ${JSON.stringify(counts)}`);

    // Assess
    expect(counts.failed).toBe(0);
    expect(Object.keys(counts.byModel)).toEqual(["B"]);
    expect(checked).toMatchObject({ finished: true, succeeded: false, status: "RolledBack" });
    expect(checked.failureReason).toMatch(
      /^The update to pms-local-c0000003 was rolled back: pms-local-c0000003 did not become healthy: the process exited/,
    );
  });

  it("rolls back to B when model D answers /ping but fails the smoke test, under load", async () => {
    // Prepare: D is healthy but knows only 3 items, so it cannot return k=20 per session.
    const load = generateLoad();
    await pause(200);
    const deployedD = await startDeployment(
      host,
      request("d0000004", await model("D", JSON.stringify({ name: "D", items: ["1", "2", "3"], delayMs: 30 }))),
      { timeoutSeconds: 60 },
    );

    // Act
    const smoke = await runSmokeTest(host, deployedD, SESSIONS, { catalogueSize: 2933 });
    const rollback = await createRollBackDeploymentHandler({ host })({ deployment: deployedD, smokeTest: smoke });
    await pause(300);
    const counts = await load.stop();
    console.info(`[load] smoke-test failure D→B: ${JSON.stringify(counts)}`);

    // Assess
    expect(smoke.passed).toBe(false);
    expect(smoke.problems[0]).toMatch(/3 items, expected 20/);
    expect(rollback).toEqual({
      endpointName: ENDPOINT,
      action: "restored-previous",
      endpointConfigName: "pms-local-b0000002",
    });
    expect(counts.failed).toBe(0);
    expect(load.counts.last).toBe("B");
    expect((await host.status(ENDPOINT)).endpointConfigName).toBe("pms-local-b0000002");
    const state = await readEndpointState(home);
    expect(state?.previous).toBeNull();
  });

  it("stops the previous model's process on clean-up and can still roll back to it afterwards", async () => {
    // Prepare
    const deployedE = await startDeployment(host, request("e0000005", await model("E", good("E"))), {
      timeoutSeconds: 60,
    });

    // Act
    const cleanup = await host.cleanUp({ endpointName: ENDPOINT, keep: 1, protect: [] });
    const afterCleanUp = await readEndpointState(home);
    await host.rollBack(ENDPOINT, "pms-local-b0000002");

    // Assess
    expect(cleanup).toEqual({
      endpointName: ENDPOINT,
      keptEndpointConfigs: ["pms-local-e0000005", "pms-local-b0000002"],
      deletedEndpointConfigs: [],
      deletedModels: [],
    });
    expect(afterCleanUp?.previous).toMatchObject({ endpointConfigName: "pms-local-b0000002", pid: null });
    expect(deployedE.previousEndpointConfigName).toBe("pms-local-b0000002");
    const response = await host.invoke(ENDPOINT, { sessions: [["1"]], k: 1 });
    expect(response.recommendations[0]?.[0]?.sku.startsWith("B-")).toBe(true);
  });

  it("reports a first deployment that cannot start as Failed, and deletes the endpoint on roll-back", async () => {
    // Prepare
    await host.deleteEndpoint(ENDPOINT);
    const impatient = stubHost(2000);
    const failing = await startDeployment(
      impatient,
      request("f0000006", await model("F", JSON.stringify({ name: "F", items, ping: 503 }))),
      {
        timeoutSeconds: 60,
      },
    );

    // Act
    const checked = await refreshDeploymentState(host, failing);
    const rollback = await createRollBackDeploymentHandler({ host })({ deployment: failing });

    // Assess
    expect(checked).toMatchObject({ status: "Failed", finished: true, succeeded: false });
    expect(checked.failureReason).toMatch(/pms-local-f0000006 did not become healthy: no 200 from \/ping within 2 s/);
    expect(rollback.action).toBe("deleted-endpoint");
    expect(await readEndpointState(home)).toBeNull();
    await expect(host.status(ENDPOINT)).rejects.toMatchObject({ name: "EndpointNotFound" });
  });
});

describe("LocalModelHost across processes", () => {
  it("takes over a lock left by a killed process and applies concurrent deployments one after the other", async () => {
    // Prepare: a lock whose owner cannot exist (Linux pids stop at 2^22).
    await writeFile(join(home, "endpoint.json.lock"), "4194305");
    const [modelG, modelH] = [await model("G", good("G")), await model("H", good("H"))];

    // Act
    const [deployedG, deployedH] = await Promise.all([
      startDeployment(host, request("g0000007", modelG), { timeoutSeconds: 60 }),
      startDeployment(host, request("h0000008", modelH), { timeoutSeconds: 60 }),
    ]);

    // Assess: whichever went second replaced the first, and the first is its previous deployment.
    const previous = [deployedG.previousEndpointConfigName, deployedH.previousEndpointConfigName];
    expect(previous).toContain(null);
    expect(previous.filter((name) => name !== null)).toHaveLength(1);
    const state = await readEndpointState(home);
    expect([state?.current?.endpointConfigName, state?.previous?.endpointConfigName].sort()).toEqual([
      "pms-local-g0000007",
      "pms-local-h0000008",
    ]);
    await host.deleteEndpoint(ENDPOINT);
  });
});

describe("an endpoint whose PMS_HOME is deleted", () => {
  it("stops its proxy and serving processes by itself", async () => {
    // Prepare
    const otherHome = await mkdtemp(join(tmpdir(), "pms-endpoint-orphan-"));
    const modelUri = join(otherHome, "model.json");
    await writeFile(modelUri, good("O"));
    const orphan = new LocalModelHost({
      home: otherHome,
      port: await freePort(),
      endpointName: ENDPOINT,
      serverCommand: (uri, backendPort) => ({
        command: process.execPath,
        args: [STUB, "--model", uri, "--port", String(backendPort)],
      }),
    });
    await orphan.deploy(request("o0000009", modelUri));
    const state = await orphan.read();
    const pids = [state?.proxyPid, state?.current?.pid].filter((pid): pid is number => typeof pid === "number");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await pause(1500); // the proxy adopts the state file on its next look

    // Act
    await rm(otherHome, { recursive: true, force: true });
    for (let waited = 0; waited < 10_000 && pids.some(alive); waited += 200) await pause(200);

    // Assess
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe("the front proxy", () => {
  it("refuses the control path without the token and answers 502 with a reason when the backend is down", async () => {
    // Prepare: a proxy pointed at a port nobody listens on.
    const { createFrontProxy } = await import("../../local/model-host.ts");
    const deadPort = await freePort();
    const proxy = createFrontProxy(deadPort, "secret-token");
    await new Promise<void>((resolveListen) => proxy.listen(0, "127.0.0.1", resolveListen));
    const address = proxy.address();
    const proxyPort = typeof address === "object" && address ? address.port : 0;

    try {
      // Act
      const forbidden = await fetch(`http://127.0.0.1:${proxyPort}/_pms/backend`, {
        method: "PUT",
        body: JSON.stringify({ port: 1 }),
      });
      const badPort = await fetch(`http://127.0.0.1:${proxyPort}/_pms/backend`, {
        method: "PUT",
        headers: { "x-pms-control-token": "secret-token" },
        body: JSON.stringify({ port: "eighty" }),
      });
      const unreachable = await fetch(`http://127.0.0.1:${proxyPort}/invocations`, { method: "POST", body: "{}" });

      // Assess
      expect(forbidden.status).toBe(403);
      expect(badPort.status).toBe(400);
      expect(await badPort.json()).toEqual({ error: "port must be a TCP port" });
      expect(unreachable.status).toBe(502);
      expect(((await unreachable.json()) as { error: string }).error).toMatch(
        /^the serving process did not answer: connect ECONNREFUSED/,
      );
    } finally {
      proxy.close();
    }
  });
});

describe("the front proxy under hostile requests", () => {
  /** A backend that, like the serving process, answers 413 to an oversize body without reading it and closes. */
  async function strictBackend(limit: number): Promise<http.Server> {
    const server = http.createServer((request, response) => {
      if (Number(request.headers["content-length"]) > limit) {
        response.writeHead(413, { connection: "close", "content-type": "application/json" }).end('{"error":"big"}');
        return;
      }
      let size = 0;
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
      });
      request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end(`{"size":${size}}`));
    });
    await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
    return server;
  }
  const portOf = (server: http.Server) => {
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  };

  it("answers 413 for a body over the limit (declared or streamed), 400 for a non-JSON control body, and keeps serving", async () => {
    // Prepare
    const { createFrontProxy } = await import("../../local/model-host.ts");
    const limit = 64 * 1024;
    const backend = await strictBackend(limit);
    const proxy = createFrontProxy(portOf(backend), "secret-token", limit);
    await new Promise<void>((resolveListen) => proxy.listen(0, "127.0.0.1", resolveListen));
    const url = `http://127.0.0.1:${portOf(proxy)}`;
    const big = "x".repeat(limit * 4);

    try {
      // Act
      const declared = await fetch(`${url}/invocations`, { method: "POST", body: big });
      const streamed = await fetch(`${url}/invocations`, {
        method: "POST",
        body: new ReadableStream({
          start(controller) {
            for (let part = 0; part < 8; part++) controller.enqueue(new TextEncoder().encode(big.slice(0, limit / 2)));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      const notJson = await fetch(`${url}/_pms/backend`, {
        method: "PUT",
        headers: { "x-pms-control-token": "secret-token" },
        body: "port=1",
      });
      const nullBody = await fetch(`${url}/_pms/backend`, {
        method: "PUT",
        headers: { "x-pms-control-token": "secret-token" },
        body: "null",
      });
      const after = await fetch(`${url}/invocations`, { method: "POST", body: "{}" });

      // Assess
      expect(declared.status).toBe(413);
      expect(((await declared.json()) as { error: string }).error).toMatch(/limit is 65536/);
      expect(streamed.status).toBe(413);
      expect(notJson.status).toBe(400);
      expect(((await notJson.json()) as { error: string }).error).toMatch(/must be JSON/);
      expect(nullBody.status).toBe(400);
      expect(after.status).toBe(200);
      expect(await after.json()).toEqual({ size: 2 });
    } finally {
      proxy.close();
      backend.close();
    }
  });
});
