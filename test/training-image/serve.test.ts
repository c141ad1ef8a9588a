import { request as httpRequest } from "node:http";
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POPULAR_FALLBACK_SIZE, trainedModelMetadata } from "../../core/model/artifact.ts";
import { selectBackend } from "../../core/model/backend.ts";
import { SessionRecommender } from "../../core/model/session-recommender.ts";
import { trainSessionModel } from "../../core/model/training.ts";
import type { InvocationResponse } from "../../core/ports/model-host.ts";
import { type RunningServer, servingWorkers, startServer } from "../../training-image/src/serve.ts";
import { chainSessions, SMALL_PARAMETERS } from "../core/model/fixture.ts";

let model: SessionRecommender;
let server: RunningServer;
const MAX_BODY = 4096;

async function post(body: string, path = "/invocations", method = "POST") {
  const response = await fetch(`${server.url}${path}`, {
    method,
    body: method === "GET" ? undefined : body,
    headers: { "content-type": "application/json" },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const invoke = async (payload: unknown) => post(JSON.stringify(payload));

beforeAll(async () => {
  await selectBackend({ candidates: ["wasm"], log: () => {} });
  const trained = await trainSessionModel(chainSessions(200, 60, 1), [], { ...SMALL_PARAMETERS, epochs: 2 });
  model = new SessionRecommender(
    trained.model,
    trained.vocabulary,
    trained.vocabulary.popular(POPULAR_FALLBACK_SIZE),
    trainedModelMetadata(trained, {
      runId: "serve-test",
      hyperparameters: SMALL_PARAMETERS,
      codeVersion: "test",
      trainedOn: "wasm",
    }),
    "wasm",
  );
  server = await startServer({ model, port: 0, host: "127.0.0.1", maxBodyBytes: MAX_BODY, log: () => {} });
});

afterAll(async () => {
  await server?.close();
  model?.dispose();
});

/** The test model behind a delay of `delayMs` per forward pass; `passes` records each pass's session count. */
function slowModel(delayMs: number): { slow: SessionRecommender; passes: number[] } {
  const passes: number[] = [];
  const slow = Object.create(model) as SessionRecommender;
  slow.recommendWithFallback = async (sessions, k) => {
    passes.push(sessions.length);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return model.recommendWithFallback(sessions, k);
  };
  return { slow, passes };
}

describe("GET /ping", () => {
  it("answers 200 once the model is loaded", async () => {
    const { status, json } = await post("", "/ping", "GET");
    expect(status).toBe(200);
    expect(json.status).toBe("ok");
  });
});

describe("POST /invocations", () => {
  it("returns k recommendations per session, best first, with sku and score", async () => {
    const { status, json } = await invoke({ sessions: [["sku-1", "sku-10"], ["sku-5"]], k: 7 });
    expect(status).toBe(200);
    const body = json as unknown as InvocationResponse;
    expect(body.recommendations).toHaveLength(2);
    expect(body.fallback).toEqual([false, false]);
    for (const list of body.recommendations) {
      expect(list).toHaveLength(7);
      const scores = list.map((item) => item.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const item of list) expect(item.sku).toMatch(/^sku-\d+$/);
    }
  });

  it("defaults k to 20 and keeps items already in the session eligible", async () => {
    const session = Array.from({ length: 30 }, (_, index) => `sku-${index}`);
    const { json } = await invoke({ sessions: [session] });
    const [list] = (json as unknown as InvocationResponse).recommendations;
    expect(list).toHaveLength(20);
    expect(list?.some((item) => session.includes(item.sku))).toBe(true);
  });

  it("skips unknown items and falls back to popular items, flagged, when none is known", async () => {
    const { json } = await invoke({ sessions: [["sku-3", "no-such-sku"], ["sku-3"], [], ["nope"]], k: 5 });
    const body = json as unknown as InvocationResponse;
    expect(body.recommendations[0]).toEqual(body.recommendations[1]);
    expect(body.fallback).toEqual([false, false, true, true]);
    const popular = model.vocabulary.popular(5).map((item) => item.sku);
    expect(body.recommendations[2]?.map((item) => item.sku)).toEqual(popular);
    expect(body.recommendations[3]?.map((item) => item.sku)).toEqual(popular);
  });

  it.each([
    ["malformed JSON", "{sessions: [", /not valid JSON/],
    ["a body that is not an object", "[1, 2]", /expected object/i],
    ["sessions missing", JSON.stringify({ k: 3 }), /sessions/],
    ["sessions not a list", JSON.stringify({ sessions: "sku-1" }), /sessions/],
    ["a non-string item", JSON.stringify({ sessions: [["sku-1", 42]] }), /sessions\.0\.1/],
    ["k as a string", JSON.stringify({ sessions: [["sku-1"]], k: "20" }), /k:/],
    ["k = 0", JSON.stringify({ sessions: [["sku-1"]], k: 0 }), /k:/],
    ["k above 100", JSON.stringify({ sessions: [["sku-1"]], k: 101 }), /k:/],
    ["a fractional k", JSON.stringify({ sessions: [["sku-1"]], k: 2.5 }), /k:/],
    ["no sessions", JSON.stringify({ sessions: [] }), /sessions/],
    ["an unknown field", JSON.stringify({ sessions: [["sku-1"]], top: 3 }), /top/],
  ])("answers 400 with a message for %s", async (_, body, message) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(String(json.error)).toMatch(message);
  });

  it("answers 413 for an oversize body, and keeps serving", async () => {
    const big = JSON.stringify({ sessions: [Array.from({ length: 1000 }, (_, index) => `sku-${index}`)] });
    expect(big.length).toBeGreaterThan(MAX_BODY);
    const { status, json } = await post(big);
    expect(status).toBe(413);
    expect(String(json.error)).toMatch(/limit/);
    // A chunked body (no Content-Length) is cut off while streaming.
    const streamed = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${server.url}/invocations`, { method: "POST" }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.write(big.slice(0, 3000));
      request.end(big.slice(3000));
    });
    expect(streamed).toBe(413);
    expect((await invoke({ sessions: [["sku-1"]], k: 1 })).status).toBe(200);
  });

  it("answers 500 when a pass fails, also for a request scored in parts, and keeps serving", async () => {
    // Prepare: passes of at most 2 sessions; the second pass fails.
    let pass = 0;
    const failing = Object.create(model) as SessionRecommender;
    failing.recommendWithFallback = async (sessions, k) => {
      pass += 1;
      if (pass === 2) throw new Error("scoring failed");
      return model.recommendWithFallback(sessions, k);
    };
    const logged: string[] = [];
    const flaky = await startServer({
      model: failing,
      port: 0,
      host: "127.0.0.1",
      maxBatchSessions: 2,
      log: (line) => logged.push(line),
    });
    const call = async (sessions: string[][]) => {
      const response = await fetch(`${flaky.url}/invocations`, { method: "POST", body: JSON.stringify({ sessions }) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    // Act
    const failed = await call([["sku-1"], ["sku-2"], ["sku-3"], ["sku-4"], ["sku-5"]]);
    const after = await call([["sku-1"]]);
    await flaky.close();

    // Assess
    expect(failed).toEqual({ status: 500, json: { error: "Internal error while scoring" } });
    expect(logged.some((line) => line.includes("scoring failed"))).toBe(true);
    expect(after.status).toBe(200);
    expect(pass).toBe(3);
  });

  it("answers 404 and 405 for other routes and methods", async () => {
    expect((await post("", "/predict")).status).toBe(404);
    expect((await post("", "/invocations", "GET")).status).toBe(405);
  });

  it("batches requests that arrive while the model is busy into shared forward passes", async () => {
    // A model that takes 50 ms a pass: requests arriving meanwhile must queue and share the next pass.
    const { slow, passes } = slowModel(50);
    const busy = await startServer({ model: slow, port: 0, host: "127.0.0.1", log: () => {} });
    const sessions = Array.from({ length: 24 }, (_, index) => [`sku-${index}`, `sku-${index + 1}`]);
    const responses = await Promise.all(
      sessions.map((session, index) =>
        fetch(`${busy.url}/invocations`, {
          method: "POST",
          body: JSON.stringify({ sessions: [session], k: 1 + (index % 4) }),
        }).then(async (response) => ({ status: response.status, json: await response.json() })),
      ),
    );
    await busy.close();
    const alone = await model.recommend(sessions, 4);
    responses.forEach((response, index) => {
      expect(response.status).toBe(200);
      const body = response.json as unknown as InvocationResponse;
      const expected = alone[index]?.slice(0, 1 + (index % 4)).map((item) => item.sku);
      expect(body.recommendations[0]?.map((item) => item.sku)).toEqual(expected);
    });
    expect(passes.reduce((sum, count) => sum + count, 0)).toBe(24);
    expect(passes.length).toBeLessThan(12);
    expect(Math.max(...passes)).toBeGreaterThan(1);
  });

  it("scores a request larger than a pass in parts, and lets one that arrives meanwhile in after one pass", async () => {
    // Prepare: passes of at most 4 sessions, 50 ms each; a 10-session request, then a 1-session one
    // sent while the large one's first pass runs.
    const { slow, passes } = slowModel(50);
    const bounded = await startServer({ model: slow, port: 0, host: "127.0.0.1", maxBatchSessions: 4, log: () => {} });
    const large = Array.from({ length: 10 }, (_, index) => [`sku-${index}`, `sku-${index + 2}`]);
    const answered: string[] = [];
    const call = (name: string, sessions: string[][], k: number) =>
      fetch(`${bounded.url}/invocations`, { method: "POST", body: JSON.stringify({ sessions, k }) }).then(
        async (response) => {
          answered.push(name);
          return (await response.json()) as InvocationResponse;
        },
      );

    // Act
    const largeAnswer = call("large", large, 3);
    while (passes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const smallAnswer = call("small", [["sku-7"]], 2);
    const [largeBody, smallBody] = await Promise.all([largeAnswer, smallAnswer]);
    await bounded.close();

    // Assess: the small request shared the second pass; the large one's parts came back in order.
    expect(passes).toEqual([4, 4, 3]);
    expect(answered).toEqual(["small", "large"]);
    const expected = await model.recommend([...large, ["sku-7"]], 3);
    expect(largeBody.recommendations.map((list) => list.map((item) => item.sku))).toEqual(
      expected.slice(0, 10).map((list) => list.map((item) => item.sku)),
    );
    expect(largeBody.fallback).toEqual(Array.from({ length: 10 }, () => false));
    expect(smallBody.recommendations[0]?.map((item) => item.sku)).toEqual(
      expected[10]?.slice(0, 2).map((item) => item.sku),
    );
  });
});

describe("servingWorkers", () => {
  it("is one process per CPU unless PMS_SERVE_WORKERS says otherwise", () => {
    expect(servingWorkers({})).toBe(availableParallelism());
    expect(servingWorkers({ PMS_SERVE_WORKERS: "" })).toBe(availableParallelism());
    expect(servingWorkers({ PMS_SERVE_WORKERS: "3" })).toBe(3);
  });

  it.each(["0", "1.5", "two"])("rejects PMS_SERVE_WORKERS=%s, naming the variable", (value) => {
    expect(() => servingWorkers({ PMS_SERVE_WORKERS: value })).toThrow(/PMS_SERVE_WORKERS/);
  });
});

describe("shutdown", () => {
  it("finishes requests in flight, then refuses new connections", async () => {
    const second = await startServer({ model, port: 0, host: "127.0.0.1", log: () => {} });
    const body = JSON.stringify({ sessions: [["sku-1"]], k: 2 });
    let closed = false;
    const answered = new Promise<{ status: number; closedFirst: boolean }>((resolve, reject) => {
      const request = httpRequest(
        `${second.url}/invocations`,
        { method: "POST", headers: { "content-length": Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0, closedFirst: closed });
        },
      );
      request.on("error", reject);
      request.write(body.slice(0, 10));
      // Close once the server holds the half-sent request.
      const waitForRequest = setInterval(() => {
        if (second.stats.inFlight === 0) return;
        clearInterval(waitForRequest);
        const closing = second.close();
        closed = true;
        request.end(body.slice(10));
        void closing;
      }, 5);
    });
    expect(await answered).toEqual({ status: 200, closedFirst: true });
    await second.close();
    await expect(fetch(`${second.url}/ping`)).rejects.toThrow();
  });
});
