import { generateKeyPairSync } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  decryptPrivateKey,
  parseSnowflakeKeySecret,
  SnowflakeKeyError,
  SnowflakeQueryError,
  SnowflakeWarehouse,
} from "../../../core/warehouse/snowflake.ts";
import { FakeSnowflakeConnection } from "./fake-snowflake.ts";

const sdk = vi.hoisted(() => ({ createConnection: vi.fn() }));
vi.mock("snowflake-sdk", () => ({ default: sdk }));

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PLAIN_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const ENCRYPTED_PEM = privateKey
  .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "correct horse" })
  .toString();

const SETTINGS = {
  account: "myorg-myaccount",
  username: "PMS_EXTRACT",
  role: "PMS_EXTRACT_ROLE",
  warehouse: "PMS_WH",
  database: "ANALYTICS",
  schema: "PMS",
};

describe("SnowflakeWarehouse", () => {
  let connection: FakeSnowflakeConnection;
  beforeEach(() => {
    connection = new FakeSnowflakeConnection();
    sdk.createConnection.mockReset();
    sdk.createConnection.mockReturnValue(connection);
  });

  it("connects once with key-pair JWT auth, decrypting an encrypted key with its passphrase", async () => {
    const key = vi.fn(async () => ({ privateKey: ENCRYPTED_PEM, passphrase: "correct horse" }));
    const warehouse = new SnowflakeWarehouse(SETTINGS, { key });
    await warehouse.query("select 1");
    await warehouse.query("select 2");
    expect(key).toHaveBeenCalledTimes(1);
    expect(connection.connected).toBe(1);
    expect(sdk.createConnection).toHaveBeenCalledTimes(1);
    const options = sdk.createConnection.mock.calls[0]?.[0];
    expect(options).toMatchObject({ ...SETTINGS, authenticator: "SNOWFLAKE_JWT" });
    expect(options.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(options.privateKey).not.toContain("ENCRYPTED");
    expect(options).not.toHaveProperty("privateKeyPass");
    expect(options).not.toHaveProperty("password");
  });

  it("sends every value as a bind and the tag as the statement's QUERY_TAG", async () => {
    connection.rowsFor = () => [{ SESSIONS: 3, TENANT: "shop" }];
    const warehouse = new SnowflakeWarehouse(SETTINGS, { key: async () => ({ privateKey: PLAIN_PEM }) });
    const rows = await warehouse.query("select count(*) as sessions, ? as tenant where x = ? and y = ?", {
      binds: ["shop", new Date("2024-01-02T03:04:05Z"), 7n],
      tag: "nightly-2024-01-02",
    });
    expect(rows).toEqual([{ sessions: 3, tenant: "shop" }]);
    expect(connection.executed).toEqual([
      {
        sqlText: "select count(*) as sessions, ? as tenant where x = ? and y = ?",
        binds: ["shop", "2024-01-02T03:04:05.000Z", "7"],
        parameters: { QUERY_TAG: "nightly-2024-01-02" },
      },
    ]);
  });

  it("starts a statement with asyncExec and polls getQueryStatus until it leaves the running states", async () => {
    connection.statuses = ["QUEUED", "RESUMING_WAREHOUSE", "RUNNING", "SUCCESS"];
    const warehouse = new SnowflakeWarehouse(SETTINGS, { key: async () => ({ privateKey: PLAIN_PEM }) });
    const queryId = await warehouse.start("copy into @stage/x from (select ?)", { binds: ["a"], tag: "exec-1" });
    expect(connection.executed[0]).toEqual({
      sqlText: "copy into @stage/x from (select ?)",
      binds: ["a"],
      parameters: { QUERY_TAG: "exec-1" },
      asyncExec: true,
    });
    const seen: string[] = [];
    for (let poll = 0; poll < 4; poll++) seen.push((await warehouse.status(queryId)).state);
    expect(seen).toEqual(["running", "running", "running", "succeeded"]);
    expect(connection.statusCalls).toEqual([queryId, queryId, queryId, queryId]);
  });

  it("reports a failed query with Snowflake's message, and reads a finished query's rows", async () => {
    connection.statuses = ["FAILED_WITH_ERROR"];
    const warehouse = new SnowflakeWarehouse(SETTINGS, { key: async () => ({ privateKey: PLAIN_PEM }) });
    expect(await warehouse.status("q-1")).toEqual({
      state: "failed",
      message: "FAILED_WITH_ERROR: SQL compilation error: Object 'TRAINING_SESSIONS' does not exist",
    });
    connection.rowsFor = (text) => (text === "results of q-2" ? [{ N: 1 }, { N: 2 }] : []);
    expect(await warehouse.results("q-2")).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("wraps a statement error with its SQL state", async () => {
    connection.failOn = /drop/;
    const warehouse = new SnowflakeWarehouse(SETTINGS, { key: async () => ({ privateKey: PLAIN_PEM }) });
    const error = await warehouse.query("drop table x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeQueryError);
    expect(error).toMatchObject({ sqlState: "42000", message: "Snowflake: SQL execution error" });
  });
});

describe("the private key secret", () => {
  it("accepts a bare PEM or JSON with privateKey and passphrase", () => {
    expect(parseSnowflakeKeySecret(`${PLAIN_PEM}\n`, "id")).toEqual({ privateKey: PLAIN_PEM.trim() });
    expect(parseSnowflakeKeySecret(JSON.stringify({ privateKey: ENCRYPTED_PEM, passphrase: "p" }), "id")).toEqual({
      privateKey: ENCRYPTED_PEM,
      passphrase: "p",
    });
    expect(() => parseSnowflakeKeySecret('{"key": "x"}', "pms/snowflake")).toThrow(
      /pms\/snowflake is JSON without a "privateKey" string/,
    );
  });

  it("fails clearly for a missing or wrong passphrase, without the key in the message", () => {
    for (const key of [{ privateKey: ENCRYPTED_PEM }, { privateKey: ENCRYPTED_PEM, passphrase: "wrong" }]) {
      const error = (() => {
        try {
          decryptPrivateKey(key);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(SnowflakeKeyError);
      expect(error?.message).toMatch(
        key.passphrase ? /wrong passphrase/ : /encrypted and the secret has no passphrase/,
      );
      expect(error?.message).not.toContain(ENCRYPTED_PEM.split("\n")[1]);
    }
    expect(() => decryptPrivateKey({ privateKey: "not a key" })).toThrow(/not PEM/);
  });
});
