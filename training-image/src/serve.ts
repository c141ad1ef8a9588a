import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { z } from "zod";
import type { LoadedModel } from "../../core/model/load.ts";
import type { InvocationResponse, Recommendation } from "../../core/ports/model-host.ts";

/**
 * The SageMaker bring-your-own-container inference contract (also the local twin's endpoint):
 * `GET /ping`, `POST /invocations` `{"sessions": [["sku", …], …], "k": 20}` →
 * `{"recommendations": [[{"sku", "score"}, …], …], "fallback": [false, …]}`.
 *
 * Concurrent requests are batched dynamically: requests that arrive while the model is busy (or in
 * the same event-loop turn) are scored together in one forward pass — no fixed waiting window, so
 * a lone request pays no batching delay.
 */
export const MAX_K = 100;
export const DEFAULT_K = 20;
export const MAX_SESSIONS_PER_REQUEST = 1000;
export const MAX_ITEMS_PER_SESSION = 1000;
/**
 * About 20 ms of forward pass for the 128-d model on one core (0.16 ms a session at this size,
 * within 15 % of the per-session cost of a 512-session pass), so waiting behind one pass stays
 * well inside a 50 ms p99.
 */
export const DEFAULT_MAX_BATCH_SESSIONS = 128;
/** SageMaker real-time endpoints accept payloads up to 6 MB. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export const InvocationRequestSchema = z
  .object({
    sessions: z
      .array(z.array(z.string().min(1).max(512)).max(MAX_ITEMS_PER_SESSION))
      .min(1)
      .max(MAX_SESSIONS_PER_REQUEST),
    k: z.number().int().min(1).max(MAX_K).default(DEFAULT_K),
  })
  .strict();

/**
 * Serving processes: `PMS_SERVE_WORKERS`, else one per CPU, as SageMaker's own model servers run.
 * Inference on wasm is single-threaded, so a second process is the only way to use a second core.
 */
export function servingWorkers(env: Readonly<Record<string, string | undefined>>): number {
  const configured = env.PMS_SERVE_WORKERS;
  if (configured === undefined || configured === "") return availableParallelism();
  const workers = Number(configured);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`PMS_SERVE_WORKERS must be a whole number ≥ 1, not "${configured}"`);
  }
  return workers;
}

export interface ServerOptions {
  readonly model: LoadedModel;
  /** @default 8080 */
  readonly port?: number;
  /** @default "0.0.0.0" (SageMaker); tests use 127.0.0.1 */
  readonly host?: string;
  readonly maxBodyBytes?: number;
  /**
   * How long a batch waits for requests that are already arriving (never for a lone request).
   * @default 2
   */
  readonly batchWindowMs?: number;
  /**
   * Most sessions scored in one forward pass; larger requests are scored in parts. Bounds how long
   * a request can wait behind another's pass. @default DEFAULT_MAX_BATCH_SESSIONS
   */
  readonly maxBatchSessions?: number;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Forward passes run so far, and sessions scored in them (shows the batching at work). */
  readonly stats: { batches: number; sessions: number; requests: number; inFlight: number };
  /** Stops accepting connections, lets requests in flight finish, then resolves. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  readonly sessions: readonly (readonly string[])[];
  readonly k: number;
  /** The first session not yet handed to a forward pass: a request larger than a pass is scored in parts. */
  next: number;
  readonly recommendations: Recommendation[][];
  readonly fallback: boolean[];
  readonly resolve: (value: InvocationResponse) => void;
  readonly reject: (error: unknown) => void;
}

/** Sessions `start … start + count` of a request, scored in one forward pass. */
interface Part {
  readonly pending: Pending;
  readonly start: number;
  readonly count: number;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(413, `The request body is ${declared} bytes; the limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `The request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseInvocation(text: string): z.infer<typeof InvocationRequestSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `The body is not valid JSON (${(error as Error).message})`);
  }
  const parsed = InvocationRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 10)
      .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(body)"}: ${issue.message}`)
      .join("; ");
    throw new HttpError(
      400,
      `Invalid request: ${problems}. Expected {"sessions": [["sku", ...], ...], "k": 1..${MAX_K}}`,
    );
  }
  return parsed.data;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { model } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxBatchSessions = options.maxBatchSessions ?? DEFAULT_MAX_BATCH_SESSIONS;
  const stats = { batches: 0, sessions: 0, requests: 0, inFlight: 0 };
  const queue: Pending[] = [];
  let scoring = false;
  let flushScheduled = false;
  let scoringRequests = 0;
  const batchWindowMs = options.batchWindowMs ?? 2;
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  /** The rest of a request cut by the last pass; it queues again behind what arrived during that pass. */
  let carried: Pending | undefined;

  /**
   * Takes up to `maxBatchSessions` sessions from the head of the queue, cutting a request that does
   * not fit: a request that arrives behind a large one then waits for one bounded pass, not for
   * every pass of the large one.
   */
  const takeBatch = (): Part[] => {
    if (carried) queue.push(carried);
    carried = undefined;
    const parts: Part[] = [];
    let sessions = 0;
    while (queue.length > 0 && sessions < maxBatchSessions) {
      const pending = queue.shift() as Pending;
      const count = Math.min(pending.sessions.length - pending.next, maxBatchSessions - sessions);
      parts.push({ pending, start: pending.next, count });
      pending.next += count;
      sessions += count;
      if (pending.next < pending.sessions.length) carried = pending;
    }
    return parts;
  };

  const scoreQueued = async (): Promise<void> => {
    scoring = true;
    try {
      while (queue.length > 0 || carried) {
        const parts = takeBatch();
        const depth = Math.max(...parts.map((part) => part.pending.k));
        scoringRequests = parts.length;
        try {
          const { recommendations, fallback } = await model.recommendWithFallback(
            parts.flatMap(({ pending, start, count }) => pending.sessions.slice(start, start + count)),
            depth,
          );
          stats.batches += 1;
          let offset = 0;
          for (const { pending, start, count } of parts) {
            for (let index = 0; index < count; index++) {
              const list = recommendations[offset + index] as Recommendation[];
              pending.recommendations[start + index] = list.length > pending.k ? list.slice(0, pending.k) : list;
              pending.fallback[start + index] = fallback[offset + index] as boolean;
            }
            offset += count;
            // Parts of one request are scored in order, so its last part completes it.
            if (start + count === pending.sessions.length) {
              pending.resolve({ recommendations: pending.recommendations, fallback: pending.fallback });
            }
          }
          stats.sessions += offset;
        } catch (error) {
          for (const { pending } of parts) pending.reject(error);
          carried = undefined;
        }
        scoringRequests = 0;
        // Let requests that arrived during the forward pass be parsed, so they join the next batch.
        if (queue.length > 0 || carried || inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      scoring = false;
    }
  };

  const schedule = () => {
    if (scoring || flushScheduled) return;
    flushScheduled = true;
    // Requests still arriving (in flight but not queued) are worth a short wait; a lone request is
    // scored on the next turn.
    const arriving = inFlight - queue.length - scoringRequests;
    const run = () => {
      flushScheduled = false;
      if (!scoring) void scoreQueued();
    };
    if (arriving > 0 && batchWindowMs > 0) setTimeout(run, batchWindowMs);
    else setImmediate(run);
  };

  const enqueue = (sessions: readonly (readonly string[])[], k: number) =>
    new Promise<InvocationResponse>((resolve, reject) => {
      queue.push({ sessions, k, next: 0, recommendations: [], fallback: [], resolve, reject });
      schedule();
    });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/ping") {
      if (request.method !== "GET") throw new HttpError(405, "Use GET /ping");
      send(response, closing ? 503 : 200, { status: closing ? "stopping" : "ok", model: model.metadata.runId });
      return;
    }
    if (path === "/invocations") {
      if (request.method !== "POST") throw new HttpError(405, "Use POST /invocations");
      if (closing) throw new HttpError(503, "The server is shutting down");
      const invocation = parseInvocation(await readBody(request, maxBodyBytes));
      stats.requests += 1;
      send(response, 200, await enqueue(invocation.sessions, invocation.k));
      return;
    }
    throw new HttpError(404, `No route ${request.method} ${path}; use GET /ping or POST /invocations`);
  };

  const server: Server = createServer((request, response) => {
    inFlight += 1;
    stats.inFlight = inFlight;
    handle(request, response)
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          // An oversize body is not read to its end: close the connection instead of draining it.
          if (error.status === 413) response.setHeader("connection", "close");
          send(response, error.status, { error: error.message });
        } else {
          log(`invocation failed: ${(error as Error).stack ?? String(error)}`);
          if (!response.headersSent) send(response, 500, { error: "Internal error while scoring" });
        }
      })
      .finally(() => {
        inFlight -= 1;
        stats.inFlight = inFlight;
        if (inFlight === 0) drained?.();
      });
  });
  server.keepAliveTimeout = 65_000; // above SageMaker's and load balancers' idle timeouts

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log(`serving ${model.name} (run ${model.metadata.runId}, ${model.backend}) on port ${port}`);

  return {
    port,
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    stats,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
