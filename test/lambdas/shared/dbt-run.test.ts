import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  dbtCloudTransformerFromEnvironment,
  dbtRunTimeoutSeconds,
  tokenFromSecretText,
} from "../../../lambdas/shared/dbt-run.ts";

const secretsManager = mockClient(SecretsManagerClient);
let server: Server;
let baseUrl: string;
let received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }>;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      received.push({ path: request.url ?? "", headers: request.headers, body });
      if (request.headers.authorization === "Token dbtc_revoked") {
        response.writeHead(401, { "Content-Type": "application/json" });
        response.end(
          JSON.stringify({ status: { code: 401, is_success: false, user_message: "Invalid token" }, data: null }),
        );
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(
        JSON.stringify({
          status: { code: 200, is_success: true, user_message: "Success!", developer_message: "" },
          data: { id: 31, status: 1, status_humanized: "Queued", href: null, project_id: 5 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  secretsManager.restore();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  secretsManager.reset();
  clearCaches();
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DBT_CLOUD_API_BASE_URL: baseUrl,
    DBT_CLOUD_ACCOUNT_ID: "11",
    DBT_CLOUD_JOB_ID: "22",
    DBT_CLOUD_TOKEN_SECRET_ID: "pms/dbt-cloud-token",
    DBT_RUN_TIMEOUT_SECONDS: "3600",
    ...extra,
  };
}

describe("dbtCloudTransformerFromEnvironment", () => {
  it("sends the token from Secrets Manager and reads the secret once per container", async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"token": "dbtc_from_json"}' });
    const transformer = dbtCloudTransformerFromEnvironment(env({ DBT_CLOUD_JOB_STEPS: '["dbt build"]' }));

    // Act
    const started = await transformer.start({ cause: "c", vars: { window_start: "2026-11-19" } });
    await transformer.get(started.id);

    // Assess
    expect(received.map((request) => request.path)).toEqual([
      "/api/v2/accounts/11/jobs/22/run/",
      "/api/v2/accounts/11/runs/31/",
    ]);
    expect(received.every((request) => request.headers.authorization === "Token dbtc_from_json")).toBe(true);
    expect(JSON.parse(received[0]?.body ?? "").steps_override).toEqual([
      `dbt build --vars '{"window_start":"2026-11-19"}'`,
    ]);
    expect(started.url).toBe(`${baseUrl}/deploy/11/projects/5/runs/31/`);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe("pms/dbt-cloud-token");
  });

  it("reads the secret again, past the cache, when dbt Cloud refuses the cached token", async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "dbtc_revoked" })
      .resolvesOnce({ SecretString: "dbtc_rotated" });
    const transformer = dbtCloudTransformerFromEnvironment(env());

    // Act
    const run = await transformer.get("31");

    // Assess
    expect(received.map((request) => request.headers.authorization)).toEqual([
      "Token dbtc_revoked",
      "Token dbtc_rotated",
    ]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(run.id).toBe("31");
  });

  it("fails at cold start on a missing setting, naming it", () => {
    // Prepare
    const { DBT_CLOUD_JOB_ID: _, ...withoutJob } = env();

    // Act / Assess
    expect(() => dbtCloudTransformerFromEnvironment(withoutJob)).toThrow(/DBT_CLOUD_JOB_ID/);
  });

  it("fails at cold start on job steps that are not dbt commands", () => {
    expect(() => dbtCloudTransformerFromEnvironment(env({ DBT_CLOUD_JOB_STEPS: '["rm -rf /"]' }))).toThrow(
      /DBT_CLOUD_JOB_STEPS.*must be a dbt command/s,
    );
  });
});

describe("dbtRunTimeoutSeconds", () => {
  it("reads a positive whole number of seconds and refuses anything else", () => {
    expect(dbtRunTimeoutSeconds(env())).toBe(3600);
    expect(() => dbtRunTimeoutSeconds(env({ DBT_RUN_TIMEOUT_SECONDS: "1h" }))).toThrow(/DBT_RUN_TIMEOUT_SECONDS/);
    expect(() => dbtRunTimeoutSeconds(env({ DBT_RUN_TIMEOUT_SECONDS: "0" }))).toThrow(/above 0/);
  });
});

describe("tokenFromSecretText", () => {
  it("accepts the bare token or a JSON object with a token field", () => {
    expect(tokenFromSecretText(" dbtc_bare\n", "s")).toBe("dbtc_bare");
    expect(tokenFromSecretText('{"token":"dbtc_json"}', "s")).toBe("dbtc_json");
  });

  it("refuses a JSON object without a token, without echoing the secret", () => {
    const error = (() => {
      try {
        tokenFromSecretText('{"apiKey":"dbtc_wrong_key"}', "pms/dbt");
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toContain('"pms/dbt"');
    expect(error?.message).not.toContain("dbtc_wrong_key");
  });
});
