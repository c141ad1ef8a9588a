import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DbtCloudAuthError,
  DbtCloudNotFoundError,
  DbtCloudRequestError,
  DbtCloudTransformer,
  type DbtCloudTransformerOptions,
  retryAfterMs,
  withVars,
} from "../../../core/transform/dbt-cloud.ts";

/**
 * A local dbt Cloud: answers the documented Administrative API v2 envelope
 * (`{"status": {...}, "data": Run}`) from a script, and records every request it receives.
 */
interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
interface ScriptedAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Never answer (the client's timeout must fire). */
  readonly hang?: boolean;
}

const TOKEN = "dbtc_s3cr3t-T0KEN-value";
const ACCOUNT = "70403";
const JOB = "512";

let server: Server;
let baseUrl: string;
let requests: RecordedRequest[];
let script: ScriptedAnswer[];

function run(id: number, status: number, extra: Record<string, unknown> = {}) {
  const humanized: Record<number, string> = {
    1: "Queued",
    2: "Starting",
    3: "Running",
    10: "Success",
    20: "Error",
    30: "Cancelled",
  };
  return {
    status: { code: 200, is_success: true, user_message: "Success!", developer_message: "" },
    data: {
      id,
      account_id: Number(ACCOUNT),
      project_id: 9,
      job_definition_id: Number(JOB),
      status,
      status_humanized: humanized[status],
      status_message: null,
      href: `https://cloud.getdbt.com/deploy/${ACCOUNT}/projects/9/runs/${id}/`,
      in_progress: status < 10,
      is_complete: status >= 10,
      is_success: status === 10,
      is_error: status === 20,
      is_cancelled: status === 30,
      ...extra,
    },
  };
}

function failure(code: number, userMessage: string) {
  return { status: { code, is_success: false, user_message: userMessage, developer_message: null }, data: null };
}

function client(overrides: Partial<DbtCloudTransformerOptions> = {}) {
  const sleeps: number[] = [];
  let clock = 0;
  const transformer = new DbtCloudTransformer({
    baseUrl,
    accountId: ACCOUNT,
    jobId: JOB,
    token: async () => TOKEN,
    tokenSource: 'Secrets Manager secret "pms/dbt-cloud-token"',
    backoffBaseMs: 100,
    random: () => 1,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    ...overrides,
  });
  return { transformer, sleeps };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const answer = script.shift() ?? { status: 500, body: failure(500, "no scripted answer") };
      if (answer.hang) return;
      response.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
      response.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = [];
  script = [];
});

describe("DbtCloudTransformer against a local dbt Cloud API", () => {
  it("triggers the job with the cause, the token header and JSON headers", async () => {
    // Prepare
    script.push({ status: 200, body: run(9001, 1) });
    const { transformer } = client();

    // Act
    const started = await transformer.start({ cause: "post-modern-stack execution nightly-2026-11-26" });

    // Assess
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe(`/api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`);
    expect(request?.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(request?.headers.accept).toBe("application/json");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request?.body ?? "")).toEqual({ cause: "post-modern-stack execution nightly-2026-11-26" });
    expect(started).toEqual({
      id: "9001",
      url: `https://cloud.getdbt.com/deploy/${ACCOUNT}/projects/9/runs/9001/`,
      status: "queued",
      finished: false,
    });
  });

  it("passes vars as steps_override when the job's steps are configured", async () => {
    // Prepare
    script.push({ status: 200, body: run(9002, 1) });
    const { transformer } = client({ jobSteps: ["dbt source freshness", "dbt build"] });

    // Act
    await transformer.start({
      cause: "x".repeat(300),
      vars: { window_start: "2014-04-01", window_end: "2014-04-07", tenant: "o'brien" },
    });

    // Assess
    const body = JSON.parse(requests[0]?.body ?? "");
    expect(body.cause).toHaveLength(255);
    expect(body.steps_override).toEqual([
      `dbt source freshness --vars '{"window_start":"2014-04-01","window_end":"2014-04-07","tenant":"o'\\''brien"}'`,
      `dbt build --vars '{"window_start":"2014-04-01","window_end":"2014-04-07","tenant":"o'\\''brien"}'`,
    ]);
  });

  it("sends no steps_override when the job's steps are not configured", async () => {
    // Prepare
    script.push({ status: 200, body: run(9003, 1) });
    const { transformer } = client();

    // Act
    await transformer.start({ cause: "c", vars: { window_start: "2014-04-01" } });

    // Assess
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual({ cause: "c" });
  });

  it.each([
    [1, "queued", false],
    [2, "starting", false],
    [3, "running", false],
    [10, "success", true],
    [20, "error", true],
    [30, "cancelled", true],
  ] as const)("maps run status %i to %s", async (code, status, finished) => {
    // Prepare
    script.push({ status: 200, body: run(77, code) });
    const { transformer } = client();

    // Act
    const got = await transformer.get("77");

    // Assess
    expect(requests[0]?.method).toBe("GET");
    expect(requests[0]?.path).toBe(`/api/v2/accounts/${ACCOUNT}/runs/77/`);
    expect(requests[0]?.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(requests[0]?.body).toBe("");
    expect(got.status).toBe(status);
    expect(got.finished).toBe(finished);
  });

  it("reports a failed run's status_message and builds the run URL when href is missing", async () => {
    // Prepare
    script.push({
      status: 200,
      body: run(78, 20, { href: null, status_message: "Database Error in model stg_events" }),
    });
    const { transformer } = client();

    // Act
    const got = await transformer.get("78");

    // Assess
    expect(got).toEqual({
      id: "78",
      url: `${baseUrl}/deploy/${ACCOUNT}/projects/9/runs/78/`,
      status: "error",
      finished: true,
      message: "Database Error in model stg_events",
    });
  });

  it("cancels a run with POST .../runs/{id}/cancel/", async () => {
    // Prepare
    script.push({ status: 200, body: run(79, 30) });
    const { transformer } = client();

    // Act
    const got = await transformer.cancel("79");

    // Assess
    expect(requests[0]?.method).toBe("POST");
    expect(requests[0]?.path).toBe(`/api/v2/accounts/${ACCOUNT}/runs/79/cancel/`);
    expect(requests[0]?.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(got.status).toBe("cancelled");
    expect(got.message).toBe("Cancelled");
  });

  it("turns a 401 that a fresh token does not cure into an auth error naming the secret, never the token", async () => {
    // Prepare: a server that echoes the credential in its message must not leak it either.
    script.push({ status: 401, body: failure(401, `Invalid token Token ${TOKEN}`) });
    script.push({ status: 401, body: failure(401, `Invalid token Token ${TOKEN}`) });
    const refreshes: boolean[] = [];
    const { transformer, sleeps } = client({
      token: async (options) => {
        refreshes.push(options?.refresh ?? false);
        return TOKEN;
      },
    });

    // Act
    const error = await transformer.get("80").catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudAuthError);
    const auth = error as DbtCloudAuthError;
    expect(auth.name).toBe("DbtCloudAuthError");
    expect(auth.httpStatus).toBe(401);
    expect(auth.message).toContain('Secrets Manager secret "pms/dbt-cloud-token"');
    expect(auth.message).toContain(`${baseUrl}/deploy/${ACCOUNT}/runs/80/`);
    expect(auth.message).not.toContain(TOKEN);
    expect(JSON.stringify(auth)).not.toContain(TOKEN);
    expect(requests).toHaveLength(2);
    expect(refreshes).toEqual([false, true]);
    expect(sleeps).toEqual([]);
  });

  it("retries a 401 once with a freshly read token, e.g. after a rotation", async () => {
    // Prepare
    script.push({ status: 401, body: failure(401, "Invalid token") });
    script.push({ status: 200, body: run(90, 3) });
    const { transformer } = client({
      token: async (options) => (options?.refresh ? "dbtc_rotated" : "dbtc_stale"),
    });

    // Act
    const got = await transformer.get("90");

    // Assess
    expect(requests.map((request) => request.headers.authorization)).toEqual([
      "Token dbtc_stale",
      "Token dbtc_rotated",
    ]);
    expect(got.status).toBe("running");
  });

  it("turns 403 into an auth error too", async () => {
    // Prepare
    script.push({ status: 403, body: failure(403, "You do not have permission") });
    script.push({ status: 403, body: failure(403, "You do not have permission") });
    const { transformer } = client();

    // Act
    const error = await transformer.start({ cause: "c" }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudAuthError);
    expect((error as Error).message).toContain("HTTP 403: You do not have permission");
    expect((error as Error).message).toContain(`/api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`);
  });

  it("turns 404 on trigger into an error naming the job and account", async () => {
    // Prepare
    script.push({ status: 404, body: failure(404, "Not found.") });
    const { transformer } = client();

    // Act
    const error = await transformer.start({ cause: "c" }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudNotFoundError);
    expect((error as Error).name).toBe("DbtCloudNotFound");
    expect((error as Error).message).toContain(`job ${JOB} of account ${ACCOUNT}`);
    expect(requests).toHaveLength(1);
  });

  it("turns 404 on get into an error naming the run with its URL", async () => {
    // Prepare
    script.push({ status: 404, body: failure(404, "Not found.") });
    const { transformer } = client();

    // Act
    const error = await transformer.get("404404").catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudNotFoundError);
    expect((error as Error).message).toContain(`run 404404 of account ${ACCOUNT}`);
    expect((error as Error).message).toContain(`/deploy/${ACCOUNT}/runs/404404/`);
  });

  it("waits the Retry-After of a 429 and then succeeds", async () => {
    // Prepare
    script.push({ status: 429, headers: { "Retry-After": "7" }, body: failure(429, "Too many requests") });
    script.push({ status: 200, body: run(81, 3) });
    const { transformer, sleeps } = client();

    // Act
    const got = await transformer.get("81");

    // Assess
    expect(sleeps).toEqual([7000]);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.path).toBe(`/api/v2/accounts/${ACCOUNT}/runs/81/`);
    expect(got.status).toBe("running");
  });

  it("leaves a Retry-After beyond its bound to Step Functions as a TransientError", async () => {
    // Prepare
    script.push({ status: 429, headers: { "Retry-After": "600" }, body: failure(429, "Too many requests") });
    const { transformer, sleeps } = client({ maxRetryAfterMs: 30_000 });

    // Act
    const error = await transformer.get("82").catch((caught: unknown) => caught);

    // Assess
    expect((error as Error).name).toBe("TransientError");
    expect((error as Error).message).toContain("Retry-After 600 s");
    expect(sleeps).toEqual([]);
    expect(requests).toHaveLength(1);
  });

  it("stops retrying when the next wait would overrun the call's time budget", async () => {
    // Prepare: two throttles of 20 s each; the second wait would end past a 30 s budget.
    script.push({ status: 429, headers: { "Retry-After": "20" }, body: failure(429, "Too many requests") });
    script.push({ status: 429, headers: { "Retry-After": "20" }, body: failure(429, "Too many requests") });
    script.push({ status: 200, body: run(88, 1) });
    const { transformer, sleeps } = client({ callBudgetMs: 30_000 });

    // Act
    const error = await transformer.get("88").catch((caught: unknown) => caught);

    // Assess
    expect((error as Error).name).toBe("TransientError");
    expect((error as Error).message).toContain("after 2 attempt(s): HTTP 429: Too many requests; no time left");
    expect(sleeps).toEqual([20_000]);
    expect(requests).toHaveLength(2);
  });

  it("retries 5xx with growing backoff and then succeeds", async () => {
    // Prepare
    script.push({ status: 502, body: "<html>bad gateway</html>" });
    script.push({ status: 503, body: failure(503, "Service unavailable") });
    script.push({ status: 200, body: run(83, 1) });
    const { transformer, sleeps } = client();

    // Act
    const got = await transformer.start({ cause: "c" });

    // Assess
    expect(sleeps).toEqual([100, 200]);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`,
      `POST /api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`,
      `POST /api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`,
    ]);
    expect(requests.every((request) => JSON.parse(request.body).cause === "c")).toBe(true);
    expect(got.id).toBe("83");
  });

  it("gives up on 5xx after the bounded attempts with a TransientError carrying the run URL", async () => {
    // Prepare
    for (let i = 0; i < 3; i++) script.push({ status: 500, body: failure(500, "Internal error") });
    const { transformer, sleeps } = client({ maxAttempts: 3 });

    // Act
    const error = await transformer.cancel("84").catch((caught: unknown) => caught);

    // Assess
    expect((error as Error).name).toBe("TransientError");
    expect((error as Error).message).toContain("after 3 attempt(s): HTTP 500: Internal error");
    expect((error as Error).message).toContain(`/deploy/${ACCOUNT}/runs/84/`);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it("times out a request that never answers and retries it", async () => {
    // Prepare
    script.push({ status: 0, hang: true });
    script.push({ status: 200, body: run(85, 10) });
    const { transformer, sleeps } = client({ requestTimeoutMs: 200 });

    // Act
    const got = await transformer.get("85");

    // Assess
    expect(requests).toHaveLength(2);
    expect(sleeps).toEqual([100]);
    expect(got.status).toBe("success");
  });

  it("rejects an answer that is not the documented envelope, naming the field", async () => {
    // Prepare
    script.push({ status: 200, body: { data: { id: "not-a-number" } } });
    const { transformer } = client();

    // Act
    const error = await transformer.get("86").catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudRequestError);
    expect((error as Error).message).toContain("data.id");
  });

  it("refuses other 4xx without retrying, with the service's message", async () => {
    // Prepare
    script.push({ status: 400, body: failure(400, "steps_override: commands must start with dbt") });
    const { transformer } = client();

    // Act
    const error = await transformer.start({ cause: "c" }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DbtCloudRequestError);
    expect((error as Error).message).toContain("HTTP 400: steps_override: commands must start with dbt");
    expect(requests).toHaveLength(1);
  });

  it("accepts a base URL given with /api/v2 and a trailing slash", async () => {
    // Prepare
    script.push({ status: 200, body: run(87, 1) });
    const { transformer } = client({ baseUrl: `${baseUrl}/api/v2/` });

    // Act
    await transformer.get("87");

    // Assess
    expect(requests[0]?.path).toBe(`/api/v2/accounts/${ACCOUNT}/runs/87/`);
  });
});

describe("retryAfterMs", () => {
  it("reads delay-seconds and HTTP dates", () => {
    const now = Date.parse("2026-11-26T12:00:00Z");
    expect(retryAfterMs("12", now)).toBe(12_000);
    expect(retryAfterMs("Thu, 26 Nov 2026 12:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("Thu, 26 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe("withVars", () => {
  it("quotes the vars JSON as one shell word", () => {
    expect(withVars("dbt build", { a: 1, b: true })).toBe(`dbt build --vars '{"a":1,"b":true}'`);
  });
});
