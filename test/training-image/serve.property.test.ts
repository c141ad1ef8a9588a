import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../../core/model/load.ts";
import { InvocationRequestSchema, MAX_K, type RunningServer, startServer } from "../../training-image/src/serve.ts";

const MAX_BODY = 8192;
let server: RunningServer;

/** The request parser is under test, not the model: a model that echoes each session's length. */
const echoModel = {
  name: "echo",
  backend: "none",
  metadata: { runId: "property-test" },
  async recommendWithFallback(sessions: readonly (readonly string[])[], k: number) {
    return {
      recommendations: sessions.map((session) => [{ sku: `len-${session.length}-k-${k}`, score: 1 }]),
      fallback: sessions.map(() => false),
    };
  },
} as unknown as LoadedModel;

beforeAll(async () => {
  server = await startServer({ model: echoModel, port: 0, host: "127.0.0.1", maxBodyBytes: MAX_BODY, log: () => {} });
});

afterAll(async () => {
  await server?.close();
});

async function post(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/invocations`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const sku = fc.string({ minLength: 1, maxLength: 20 });
const request = fc.record(
  {
    sessions: fc.array(fc.array(sku, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
    k: fc.integer({ min: 1, max: MAX_K }),
  },
  { requiredKeys: ["sessions"] },
);
const anyBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  request.map((value) => JSON.stringify(value)),
  fc
    .record({ sessions: fc.jsonValue({ maxDepth: 3 }), k: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })
    .map((value) => JSON.stringify(value)),
  fc.nat({ max: 4 }).map((extra) => `{"sessions":[["${"x".repeat(MAX_BODY + extra)}"]]}`),
);

describe("the serving request parser, for any body", () => {
  it("answers 200 exactly when the body is a valid request, else 400 or 413 with a message, and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, async (body) => {
        // Act
        const { status, json } = await post(body);

        // Assess
        let expected = 400;
        if (Buffer.byteLength(body) > MAX_BODY) expected = 413;
        else {
          try {
            if (InvocationRequestSchema.safeParse(JSON.parse(body)).success) expected = 200;
          } catch {
            expected = 400;
          }
        }
        expect(status, body.slice(0, 80)).toBe(expected);
        if (status === 200) expect(Array.isArray(json.recommendations)).toBe(true);
        else expect(typeof json.error).toBe("string");
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });
});
