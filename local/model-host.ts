import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CleanUpRequest, DeploymentCleaner } from "../core/deploy/cleanup.ts";
import { DeploymentError, EndpointNotFoundError } from "../core/deploy/errors.ts";
import { parseInvocationResponse } from "../core/deploy/invocation.ts";
import { deploymentResourceName } from "../core/deploy/names.ts";
import type { CleanupResult } from "../core/pipeline/contracts.ts";
import type {
  DeploymentRequest,
  EndpointDeployment,
  EndpointStatus,
  InvocationRequest,
  InvocationResponse,
  ModelHost,
} from "../core/ports/model-host.ts";
import { DEFAULT_MAX_BODY_BYTES } from "../training-image/src/serve.ts";
import { nodeEntryArgs, TRAINING_IMAGE_ENTRY, tsxImportArgs } from "./entry-points.ts";
import { isAlive } from "./processes.ts";

/**
 * The local twin's endpoint: the training image's serving process on localhost, behind a small
 * front proxy that owns the public port. A deployment starts the new model's process on a port of
 * its own, waits for `/ping`, then points the proxy at it — requests in flight finish on the old
 * process, new ones go to the new one, none is dropped. The old process is kept until the pipeline
 * is done with the new model (smoke test passed, clean-up ran), so a failed smoke test rolls back by
 * pointing the proxy back. Everything the twin, `pms serve` and the CLI need to find the endpoint
 * lives in `$PMS_HOME/endpoint.json`; the processes are detached, so the endpoint outlives `pms run`.
 *
 * Statuses mirror SageMaker's (`InService`, `Failed`, `OutOfService`) so the same check-deployment
 * and smoke-test handlers drive both.
 */

export interface LocalDeployment {
  /** `<endpoint>-<shortId>`, like a SageMaker endpoint config: what the pipeline state refers to. */
  readonly endpointConfigName: string;
  readonly runId: string;
  readonly modelUri: string;
  readonly backendPort: number;
  /** The serving process, or null once stopped (its record stays so a roll-back can restart it). */
  readonly pid: number | null;
  readonly startedAt: string;
}

export interface LocalEndpointState {
  readonly endpointName: string;
  /** The public port: `http://127.0.0.1:<port>/invocations`. */
  readonly port: number;
  readonly proxyPid: number | null;
  /** Guards the proxy's control path from anything that merely reaches the port. */
  readonly controlToken: string;
  readonly status: "InService" | "Failed" | "OutOfService";
  readonly failureReason?: string;
  /** The config of a first deployment that failed, reported as SageMaker reports a Failed endpoint's. */
  readonly failedEndpointConfigName?: string;
  readonly current: LocalDeployment | null;
  readonly previous: LocalDeployment | null;
  readonly updatedAt: string;
}

export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface LocalModelHostOptions {
  /** `$PMS_HOME`: the state goes to `<home>/endpoint.json`, process logs to `<home>/logs/`. */
  readonly home: string;
  /** The endpoint `deploy` targets when the request names none. @default "pms-local" */
  readonly endpointName?: string;
  /** The public port the first deployment binds. @default 8080 */
  readonly port?: number;
  /** How a model's serving process is started. @default the training image's `serve` command via tsx */
  readonly serverCommand?: (modelUri: string, port: number) => ServerCommand;
  /** How long a new model may take to answer `/ping`. @default 120000 */
  readonly startupTimeoutMs?: number;
  /** How long requests in flight on the old process may take to finish before it is stopped. @default 30000 */
  readonly drainTimeoutMs?: number;
  /** How long a change waits for another process's change to the same endpoint. @default 300000 */
  readonly lockTimeoutMs?: number;
}

const FRONT_PROXY_COMMAND = "front-proxy";
const CONTROL_PATH = "/_pms/backend";
const CONTROL_HEADER = "x-pms-control-token";

/** The training image's serving entry point, as the container runs it, on the local backend. */
export function trainingImageServeCommand(modelUri: string, port: number): ServerCommand {
  return {
    command: process.execPath,
    args: [
      ...nodeEntryArgs(TRAINING_IMAGE_ENTRY),
      "serve",
      "--model",
      modelUri,
      "--port",
      String(port),
      // Local only: nothing outside this machine reaches the serving processes (the container binds 0.0.0.0).
      "--host",
      "127.0.0.1",
      // One process: a swap runs two endpoints side by side on a laptop that also trains.
      "--workers",
      "1",
    ],
  };
}

export class LocalModelHost implements ModelHost, DeploymentCleaner {
  readonly statePath: string;
  private readonly logs: string;

  constructor(private readonly options: LocalModelHostOptions) {
    this.statePath = join(options.home, "endpoint.json");
    this.logs = join(options.home, "logs");
  }

  deploy(request: DeploymentRequest): Promise<EndpointDeployment> {
    return this.exclusive(() => this.deployExclusive(request));
  }

  private async deployExclusive(request: DeploymentRequest): Promise<EndpointDeployment> {
    const endpointName = request.endpointName ?? this.options.endpointName ?? "pms-local";
    const name = deploymentResourceName(endpointName, request.shortId);
    const state = await this.read();
    const serving = state?.status === "InService" && state.current && (await this.healthy(state)) ? state : null;
    if (serving?.current?.endpointConfigName === name) {
      return result(endpointName, name, serving.previous?.endpointConfigName ?? null);
    }

    const started = await this.startBackend(request.modelUri, name);
    if (!started.ok) {
      if (serving?.current) {
        // Like a failed SageMaker update: the old model keeps serving and the reason is reported.
        await this.write({ ...serving, failureReason: started.reason, updatedAt: now() });
        return result(endpointName, name, serving.current.endpointConfigName);
      }
      await this.stopAll(state);
      await this.write({
        endpointName,
        port: state?.port ?? this.options.port ?? 8080,
        proxyPid: null,
        controlToken: state?.controlToken ?? token(),
        status: "Failed",
        failureReason: started.reason,
        failedEndpointConfigName: name,
        current: null,
        previous: null,
        updatedAt: now(),
      });
      return result(endpointName, name, null);
    }
    const next: LocalDeployment = { ...started.deployment, runId: request.runId };

    if (serving?.current && serving.proxyPid !== null) {
      await switchBackend(serving, next.backendPort);
      // The deployment before the old one is not needed any more: only one step back is kept.
      if (serving.previous?.pid) await this.drainAndStop(serving, serving.previous);
      await this.write({
        ...serving,
        status: "InService",
        failureReason: undefined,
        current: next,
        previous: serving.current,
        updatedAt: now(),
      });
      return result(endpointName, name, serving.current.endpointConfigName);
    }

    // First deployment, or the endpoint's processes are gone: (re)start the proxy in front of it.
    await this.stopAll(state);
    const port = state?.port ?? this.options.port ?? 8080;
    const controlToken = state?.controlToken ?? token();
    const proxy = await this.startProxy(port, next.backendPort, controlToken);
    if (!proxy.ok) {
      await stopProcess(next.pid);
      await this.write({
        endpointName,
        port,
        proxyPid: null,
        controlToken,
        status: "Failed",
        failureReason: proxy.reason,
        failedEndpointConfigName: name,
        current: null,
        previous: null,
        updatedAt: now(),
      });
      return result(endpointName, name, null);
    }
    const previous = state?.current ? { ...state.current, pid: null } : null;
    await this.write({
      endpointName,
      port,
      proxyPid: proxy.pid,
      controlToken,
      status: "InService",
      current: next,
      previous,
      updatedAt: now(),
    });
    return result(endpointName, name, previous?.endpointConfigName ?? null);
  }

  async status(endpointName: string): Promise<EndpointStatus> {
    const state = await this.read();
    if (state === null || state.endpointName !== endpointName) throw new EndpointNotFoundError(endpointName);
    if (state.status === "InService" && !(await this.healthy(state))) {
      return {
        status: "OutOfService",
        endpointConfigName: state.current?.endpointConfigName ?? null,
        failureReason:
          "The local endpoint's processes are not running (was the machine restarted?); `pms serve` starts them again",
      };
    }
    return {
      status: state.status,
      endpointConfigName: state.current?.endpointConfigName ?? state.failedEndpointConfigName ?? null,
      ...(state.failureReason ? { failureReason: state.failureReason } : {}),
    };
  }

  async invoke(endpointName: string, request: InvocationRequest): Promise<InvocationResponse> {
    const state = await this.read();
    if (state === null || state.endpointName !== endpointName) throw new EndpointNotFoundError(endpointName);
    const response = await fetch(`http://127.0.0.1:${state.port}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(request),
    });
    const body = await response.text();
    if (!response.ok) {
      throw new LocalInvocationError(`The local endpoint answered ${response.status}: ${body.slice(0, 300)}`);
    }
    return parseInvocationResponse(body);
  }

  rollBack(endpointName: string, endpointConfigName: string): Promise<void> {
    return this.exclusive(() => this.rollBackExclusive(endpointName, endpointConfigName));
  }

  private async rollBackExclusive(endpointName: string, endpointConfigName: string): Promise<void> {
    const state = await this.read();
    if (state === null || state.endpointName !== endpointName) throw new EndpointNotFoundError(endpointName);
    if (state.current?.endpointConfigName === endpointConfigName && (await this.healthy(state))) return;
    const target = state.previous;
    if (target?.endpointConfigName !== endpointConfigName) {
      throw new DeploymentError(
        `Cannot roll ${endpointName} back to ${endpointConfigName}: the deployment before the current one is ${target?.endpointConfigName ?? "none"}`,
      );
    }
    let restored = target;
    if (!(target.pid !== null && isAlive(target.pid) && (await ping(target.backendPort)))) {
      // Clean-up stopped it (or the machine restarted): start it again from its model.
      const started = await this.startBackend(target.modelUri, target.endpointConfigName);
      if (!started.ok) throw new DeploymentError(`Restarting ${target.endpointConfigName} failed: ${started.reason}`);
      restored = { ...started.deployment, runId: target.runId };
    }
    if (state.proxyPid !== null && isAlive(state.proxyPid)) {
      await switchBackend(state, restored.backendPort);
    } else {
      const proxy = await this.startProxy(state.port, restored.backendPort, state.controlToken);
      if (!proxy.ok) throw new DeploymentError(`Restarting the local endpoint's proxy failed: ${proxy.reason}`);
      if (state.current) await stopProcess(state.current.pid);
      await this.write({
        ...state,
        proxyPid: proxy.pid,
        status: "InService",
        current: restored,
        previous: null,
        updatedAt: now(),
      });
      return;
    }
    if (state.current) await this.drainAndStop(state, state.current);
    await this.write({
      ...state,
      status: "InService",
      failureReason: undefined,
      current: restored,
      previous: null,
      updatedAt: now(),
    });
  }

  deleteEndpoint(endpointName: string): Promise<void> {
    return this.exclusive(() => this.deleteEndpointExclusive(endpointName));
  }

  private async deleteEndpointExclusive(endpointName: string): Promise<void> {
    const state = await this.read();
    if (state === null || state.endpointName !== endpointName) return;
    await this.stopAll(state);
    await rm(this.statePath, { force: true });
  }

  /**
   * Locally there are no configs or models to delete (they are the runs' own artifacts); what a
   * finished deployment leaves behind is the previous model's process, kept for a roll-back.
   * It is stopped here — its record stays, so a later roll-back restarts it from its model.
   */
  cleanUp(request: CleanUpRequest): Promise<CleanupResult> {
    return this.exclusive(() => this.cleanUpExclusive(request));
  }

  private async cleanUpExclusive(request: CleanUpRequest): Promise<CleanupResult> {
    const state = await this.read();
    if (state === null || state.endpointName !== request.endpointName) {
      throw new EndpointNotFoundError(request.endpointName);
    }
    if (state.previous?.pid) {
      await this.drainAndStop(state, state.previous);
      await this.write({ ...state, previous: { ...state.previous, pid: null }, updatedAt: now() });
    }
    return {
      endpointName: request.endpointName,
      keptEndpointConfigs: [state.current?.endpointConfigName, state.previous?.endpointConfigName].filter(
        (name): name is string => typeof name === "string",
      ),
      deletedEndpointConfigs: [],
      deletedModels: [],
    };
  }

  /** Starts the endpoint's processes again from `endpoint.json` (after a restart); `pms serve` calls this. */
  start(endpointName?: string): Promise<LocalEndpointState> {
    return this.exclusive(() => this.startExclusive(endpointName));
  }

  private async startExclusive(endpointName?: string): Promise<LocalEndpointState> {
    const state = await this.read();
    if (state === null || (endpointName && state.endpointName !== endpointName) || !state.current) {
      throw new EndpointNotFoundError(endpointName ?? this.options.endpointName ?? "pms-local");
    }
    if (await this.healthy(state)) return state;
    await this.stopAll(state);
    const started = await this.startBackend(state.current.modelUri, state.current.endpointConfigName);
    if (!started.ok)
      throw new DeploymentError(`Starting ${state.current.endpointConfigName} failed: ${started.reason}`);
    const current = { ...started.deployment, runId: state.current.runId };
    const proxy = await this.startProxy(state.port, current.backendPort, state.controlToken);
    if (!proxy.ok) {
      await stopProcess(current.pid);
      throw new DeploymentError(`Starting the local endpoint's proxy failed: ${proxy.reason}`);
    }
    const restarted: LocalEndpointState = {
      ...state,
      proxyPid: proxy.pid,
      status: "InService",
      failureReason: undefined,
      current,
      previous: state.previous ? { ...state.previous, pid: null } : null,
      updatedAt: now(),
    };
    await this.write(restarted);
    return restarted;
  }

  /** Stops the processes and keeps the state (`OutOfService`), so `start` brings the same model back. */
  stop(): Promise<void> {
    return this.exclusive(() => this.stopExclusive());
  }

  private async stopExclusive(): Promise<void> {
    const state = await this.read();
    if (state === null) return;
    await this.stopAll(state);
    await this.write({
      ...state,
      proxyPid: null,
      status: state.status === "InService" ? "OutOfService" : state.status,
      current: state.current ? { ...state.current, pid: null } : null,
      previous: state.previous ? { ...state.previous, pid: null } : null,
      updatedAt: now(),
    });
  }

  async read(): Promise<LocalEndpointState | null> {
    return readEndpointState(this.options.home);
  }

  /**
   * One change at a time across processes (the twin, `pms serve`, a second `pms run`): a lock file
   * created exclusively, holding the owner's pid so a lock left by a killed process is taken over.
   */
  private exclusive<T>(change: () => Promise<T>): Promise<T> {
    // Changes from this process queue up before they reach the lock file: two of them taking over
    // the same stale lock at once would each remove the other's fresh one.
    const queued = (inProcessChanges.get(this.statePath) ?? Promise.resolve()).then(() =>
      this.exclusiveAcrossProcesses(change),
    );
    inProcessChanges.set(
      this.statePath,
      queued.catch(() => undefined),
    );
    return queued;
  }

  private async exclusiveAcrossProcesses<T>(change: () => Promise<T>): Promise<T> {
    const lock = `${this.statePath}.lock`;
    await mkdir(dirname(lock), { recursive: true });
    const deadline = Date.now() + (this.options.lockTimeoutMs ?? 300_000);
    for (;;) {
      try {
        await writeFile(lock, String(process.pid), { flag: "wx" });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const owner = Number(await readFile(lock, "utf8").catch(() => ""));
        if (owner > 0 && owner !== process.pid && !isAlive(owner)) {
          await rm(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new DeploymentError(
            `The local endpoint is busy (${lock} held by process ${owner || "?"}); retry later`,
          );
        }
        await sleep(100);
      }
    }
    try {
      return await change();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async write(state: LocalEndpointState): Promise<void> {
    await mkdir(dirname(this.statePath), { recursive: true });
    // Written aside and renamed: a reader (the CLI, the twin) never sees half a file.
    const temporary = `${this.statePath}.${process.pid}.tmp`;
    // Owner-only: the file holds the proxy's control token, which switches what the port serves.
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.statePath);
  }

  private async healthy(state: LocalEndpointState): Promise<boolean> {
    return (
      state.proxyPid !== null &&
      isAlive(state.proxyPid) &&
      state.current?.pid !== null &&
      state.current?.pid !== undefined &&
      isAlive(state.current.pid) &&
      (await ping(state.port))
    );
  }

  private async startBackend(
    modelUri: string,
    endpointConfigName: string,
  ): Promise<{ ok: true; deployment: LocalDeployment } | { ok: false; reason: string }> {
    const port = await freePort();
    const command = (this.options.serverCommand ?? trainingImageServeCommand)(modelUri, port);
    const log = join(this.logs, `endpoint-${endpointConfigName}.log`);
    const child = this.spawnDetached(command, log);
    const ready = await waitForPing(child, port, this.options.startupTimeoutMs ?? 120_000);
    if (!ready.ok) {
      await stopProcess(child.pid ?? null);
      return { ok: false, reason: `${endpointConfigName} did not become healthy: ${ready.reason} (log: ${log})` };
    }
    return {
      ok: true,
      deployment: {
        endpointConfigName,
        runId: "",
        modelUri,
        backendPort: port,
        pid: child.pid ?? null,
        startedAt: now(),
      },
    };
  }

  private async startProxy(
    port: number,
    backendPort: number,
    controlToken: string,
  ): Promise<{ ok: true; pid: number } | { ok: false; reason: string }> {
    const child = this.spawnDetached(
      {
        command: process.execPath,
        args: [
          ...tsxImportArgs(),
          fileURLToPath(import.meta.url),
          FRONT_PROXY_COMMAND,
          String(port),
          String(backendPort),
          this.statePath,
        ],
        env: { PMS_PROXY_CONTROL_TOKEN: controlToken },
      },
      join(this.logs, "endpoint-proxy.log"),
    );
    const ready = await waitForPing(child, port, 30_000);
    if (!ready.ok || child.pid === undefined) {
      await stopProcess(child.pid ?? null);
      return {
        ok: false,
        reason: `the front proxy on port ${port} did not start: ${ready.ok ? "no pid" : ready.reason}`,
      };
    }
    return { ok: true, pid: child.pid };
  }

  private spawnDetached(command: ServerCommand, logPath: string): ChildProcess {
    mkdirSync(dirname(logPath), { recursive: true });
    const log = openSync(logPath, "a");
    try {
      const child = spawn(command.command, [...command.args], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, ...command.env },
      });
      child.unref();
      return child;
    } finally {
      closeSync(log);
    }
  }

  private async drainAndStop(state: LocalEndpointState, deployment: LocalDeployment): Promise<void> {
    if (state.proxyPid !== null && isAlive(state.proxyPid)) {
      const deadline = Date.now() + (this.options.drainTimeoutMs ?? 30_000);
      while (Date.now() < deadline && (await inFlight(state, deployment.backendPort)) > 0) await sleep(50);
    }
    await stopProcess(deployment.pid);
  }

  private async stopAll(state: LocalEndpointState | null): Promise<void> {
    if (state === null) return;
    await Promise.all([state.proxyPid, state.current?.pid, state.previous?.pid].map((pid) => stopProcess(pid ?? null)));
  }
}

export class LocalInvocationError extends Error {
  override readonly name = "LocalInvocationError";
}

/** The local endpoint's state, for the twin and the CLI (e.g. the champion is `current.modelUri`). */
export async function readEndpointState(home: string): Promise<LocalEndpointState | null> {
  try {
    return JSON.parse(await readFile(join(home, "endpoint.json"), "utf8")) as LocalEndpointState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function result(endpointName: string, name: string, previous: string | null): EndpointDeployment {
  return { endpointName, endpointConfigName: name, modelName: name, previousEndpointConfigName: previous };
}

function now(): string {
  return new Date().toISOString();
}

function token(): string {
  return randomBytes(16).toString("hex");
}

/** The tail of each endpoint state file's queue of changes from this process. */
const inProcessChanges = new Map<string, Promise<unknown>>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

async function stopProcess(pid: number | null): Promise<void> {
  if (pid === null || !isAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
    for (let waited = 0; waited < 5000; waited += 50) {
      if (!isAlive(pid)) return;
      await sleep(50);
    }
    process.kill(pid, "SIGKILL");
  } catch (error) {
    // Gone meanwhile (ESRCH), or the pid now names another user's process (EPERM): not ours to stop.
    if (!["ESRCH", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  }
}

/** A port the OS says is free right now (the process binds it a moment later; good enough locally). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function ping(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function waitForPing(
  child: ChildProcess,
  port: number,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let exited: string | null = null;
  child.once("exit", (code, signal) => {
    exited = `the process exited (${signal ?? `code ${code}`}) before answering /ping`;
  });
  child.once("error", (error) => {
    exited = `the process could not start: ${error.message}`;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return { ok: false, reason: exited };
    if (await ping(port)) return { ok: true };
    await sleep(100);
  }
  return { ok: false, reason: `no 200 from /ping within ${Math.round(timeoutMs / 1000)} s` };
}

async function control(state: LocalEndpointState, method: "GET" | "PUT", body?: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${state.port}${CONTROL_PATH}`, {
    method,
    headers: { [CONTROL_HEADER]: state.controlToken, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok)
    throw new DeploymentError(`The local endpoint's proxy refused ${method}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

async function switchBackend(state: LocalEndpointState, backendPort: number): Promise<void> {
  await control(state, "PUT", { port: backendPort });
}

async function inFlight(state: LocalEndpointState, backendPort: number): Promise<number> {
  const answer = (await control(state, "GET")) as { inFlight?: Record<string, number> };
  return answer.inFlight?.[String(backendPort)] ?? 0;
}

/**
 * The front proxy: the stable public port, forwarding each request to the current backend.
 *
 * Hand-written on node:http because the job is the swap, not the forwarding: an atomic switch of
 * the target between two requests, and a count of requests in flight per backend so the old one is
 * stopped only once drained. http-proxy (last release 2020) is unmaintained, http-proxy-middleware
 * is built on it, and http-proxy-3 would replace only the dozen lines of piping below while the
 * switching and draining would still be ours.
 */
export function createFrontProxy(
  initialBackendPort: number,
  controlToken: string,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): http.Server {
  let backendPort = initialBackendPort;
  const inFlightByPort = new Map<number, number>();
  const agents = new Map<number, http.Agent>();
  const agentFor = (port: number) => {
    let agent = agents.get(port);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      agents.set(port, agent);
    }
    return agent;
  };
  const count = (port: number, delta: number) => {
    const next = (inFlightByPort.get(port) ?? 0) + delta;
    if (next <= 0) {
      inFlightByPort.delete(port);
      if (port !== backendPort) {
        agents.get(port)?.destroy();
        agents.delete(port);
      }
    } else inFlightByPort.set(port, next);
  };

  const answer = (response: http.ServerResponse, status: number, body: unknown) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };

  const controlRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (request.headers[CONTROL_HEADER] !== controlToken) {
      answer(response, 403, { error: "forbidden" });
      return;
    }
    if (request.method !== "PUT") {
      answer(response, 200, { port: backendPort, inFlight: Object.fromEntries(inFlightByPort) });
      return;
    }
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body || "{}");
      } catch {
        answer(response, 400, { error: 'the control body must be JSON: {"port": <backend port>}' });
        return;
      }
      const port = Number((parsed as { port?: unknown } | null)?.port);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        answer(response, 400, { error: "port must be a TCP port" });
        return;
      }
      const previousPort = backendPort;
      backendPort = port;
      // An idle old backend keeps no pooled sockets open: it must be able to exit at once.
      if (previousPort !== port && !inFlightByPort.has(previousPort)) {
        agents.get(previousPort)?.destroy();
        agents.delete(previousPort);
      }
      answer(response, 200, { port });
    });
  };

  const forward = (request: http.IncomingMessage, response: http.ServerResponse) => {
    // The target is fixed when the request arrives; a switch affects only requests after it.
    const port = backendPort;
    count(port, 1);
    let counted = true;
    const done = () => {
      if (counted) count(port, -1);
      counted = false;
    };
    response.on("close", done);
    // The serving process answers an oversize body with 413 and closes without reading it, which
    // the piping here would see as EPIPE and report as 502: the proxy applies the same limit first.
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      response.setHeader("connection", "close");
      answer(response, 413, { error: `The request body is ${declared} bytes; the limit is ${maxBodyBytes}` });
      request.resume();
      return;
    }
    let received = 0;
    let tooLarge = false;
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent: agentFor(port),
      },
      (upstreamAnswer) => {
        response.writeHead(upstreamAnswer.statusCode ?? 502, upstreamAnswer.headers);
        upstreamAnswer.pipe(response);
      },
    );
    upstream.on("error", (error) => {
      if (tooLarge) return;
      answer(response, 502, { error: `the serving process did not answer: ${error.message}` });
    });
    request.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes || tooLarge) return;
      tooLarge = true;
      request.unpipe(upstream);
      upstream.destroy();
      response.setHeader("connection", "close");
      answer(response, 413, { error: `The request body exceeds the limit of ${maxBodyBytes} bytes` });
    });
    request.on("error", () => upstream.destroy());
    request.pipe(upstream);
  };

  const server = http.createServer((request, response) => {
    // One bad request must never take the port down: whatever a handler throws is that request's 500.
    try {
      if (request.url === CONTROL_PATH) controlRequest(request, response);
      else forward(request, response);
    } catch (error) {
      answer(response, 500, { error: `the proxy failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  });
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

/**
 * The detached proxy also looks after its endpoint: once `endpoint.json` has named it, a state file
 * that disappears (its `$PMS_HOME` was deleted) stops the serving processes it last saw and the proxy
 * itself, so removing the folder never leaves orphans behind; a file naming another proxy means a
 * newer one took over, and this one just exits.
 */
export function watchEndpointState(
  statePath: string,
  onOrphaned: (backendPids: number[]) => void,
  onReplaced: () => void,
) {
  let adopted = false;
  let lastBackends: number[] = [];
  const timer = setInterval(async () => {
    const state = await readEndpointState(dirname(statePath)).catch(() => undefined);
    if (state === undefined) return;
    if (state === null || state.proxyPid !== process.pid) {
      if (!adopted) return;
      clearInterval(timer);
      if (state === null) onOrphaned(lastBackends);
      else onReplaced();
      return;
    }
    adopted = true;
    lastBackends = [state.current?.pid, state.previous?.pid].filter((pid): pid is number => typeof pid === "number");
  }, 1000);
  return timer;
}

// `node --import tsx local/model-host.ts front-proxy <port> <backend port> <endpoint.json>`: the proxy process.
if (
  process.argv[2] === FRONT_PROXY_COMMAND &&
  process.argv[1] &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const [port, backendPort, statePath] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  const controlToken = process.env.PMS_PROXY_CONTROL_TOKEN ?? "";
  const server = createFrontProxy(backendPort, controlToken);
  server.listen(port, "127.0.0.1");
  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (statePath) {
    watchEndpointState(
      statePath,
      (backendPids) => {
        for (const pid of backendPids) if (isAlive(pid)) process.kill(pid, "SIGTERM");
        shutdown();
      },
      shutdown,
    );
  }
}
