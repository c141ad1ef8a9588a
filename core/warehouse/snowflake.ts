import { createPrivateKey } from "node:crypto";
import snowflake from "snowflake-sdk";
import type { QueryOptions, QueryStatus, SqlValue, Warehouse } from "../ports/warehouse.ts";

type Connection = snowflake.Connection;
type Bind = snowflake.Bind;

export interface SnowflakeSettings {
  /** Account identifier, e.g. `myorg-myaccount`. */
  readonly account: string;
  readonly username: string;
  readonly role?: string;
  readonly warehouse?: string;
  readonly database?: string;
  readonly schema?: string;
}

/** The key pair's private key, PEM, and its passphrase when the PEM is encrypted. */
export interface SnowflakeKey {
  readonly privateKey: string;
  readonly passphrase?: string;
}

export interface SnowflakeWarehouseDependencies {
  /** Reads the key when the first connection is made (e.g. from Secrets Manager). */
  readonly key: () => Promise<SnowflakeKey>;
  /** @default snowflake.createConnection */
  readonly createConnection?: (options: snowflake.ConnectionOptions) => Connection;
}

export class SnowflakeKeyError extends Error {
  override readonly name = "SnowflakeKeyError";
}

export class SnowflakeQueryError extends Error {
  override readonly name = "SnowflakeQueryError";
  constructor(
    message: string,
    readonly sqlState?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The secret holds either the PEM itself or JSON `{"privateKey": "<PEM>", "passphrase": "…"}`.
 * Never echoes the value in an error.
 */
export function parseSnowflakeKeySecret(secret: string, secretId: string): SnowflakeKey {
  const text = secret.trim();
  if (text.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SnowflakeKeyError(`Secret ${secretId} starts like JSON but is not valid JSON`);
    }
    const { privateKey, passphrase } = parsed as { privateKey?: unknown; passphrase?: unknown };
    if (typeof privateKey !== "string") {
      throw new SnowflakeKeyError(`Secret ${secretId} is JSON without a "privateKey" string (PEM)`);
    }
    if (passphrase !== undefined && typeof passphrase !== "string") {
      throw new SnowflakeKeyError(`Secret ${secretId}: "passphrase" must be a string`);
    }
    return { privateKey, ...(passphrase ? { passphrase } : {}) };
  }
  return { privateKey: text };
}

/**
 * An unencrypted PKCS#8 PEM for the driver. An encrypted key is decrypted here with node:crypto, so
 * a wrong passphrase fails with a clear message before any network call.
 */
export function decryptPrivateKey(key: SnowflakeKey): string {
  if (!key.privateKey.includes("-----BEGIN")) {
    throw new SnowflakeKeyError("The Snowflake private key is not PEM (expected -----BEGIN … PRIVATE KEY-----)");
  }
  try {
    return createPrivateKey({
      key: key.privateKey,
      format: "pem",
      ...(key.passphrase ? { passphrase: key.passphrase } : {}),
    })
      .export({ format: "pem", type: "pkcs8" })
      .toString();
  } catch (error) {
    const encrypted = key.privateKey.includes("ENCRYPTED");
    throw new SnowflakeKeyError(
      encrypted && !key.passphrase
        ? "The Snowflake private key is encrypted and the secret has no passphrase"
        : "The Snowflake private key cannot be read (a wrong passphrase or a damaged PEM)",
      // The crypto error names no key material, only the failure.
      { cause: error },
    );
  }
}

function toBind(value: SqlValue): Bind {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  return value;
}

function lowerCaseKeys<Row>(rows: readonly Record<string, unknown>[] | undefined): Row[] {
  return (rows ?? []).map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) out[key.toLowerCase()] = value;
    return out as Row;
  });
}

function statementOptions(sql: string, options: QueryOptions): snowflake.StatementOption {
  return {
    sqlText: sql,
    ...(options.binds && options.binds.length > 0 ? { binds: options.binds.map(toBind) } : {}),
    // The driver sends a connection-level queryTag the same way: as the statement's QUERY_TAG
    // parameter. Per statement, because a warm Lambda's connection serves many executions.
    // STATEMENT_TIMEOUT_IN_SECONDS is a session parameter Snowflake also takes per statement: past
    // it the statement is cancelled ("Statement reached its statement timeout and was canceled").
    ...(options.tag || options.timeoutSeconds !== undefined
      ? {
          parameters: {
            ...(options.tag ? { QUERY_TAG: options.tag.slice(0, 2000) } : {}),
            ...(options.timeoutSeconds !== undefined
              ? { STATEMENT_TIMEOUT_IN_SECONDS: Math.ceil(options.timeoutSeconds) }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * The cloud warehouse on `snowflake-sdk`: key-pair (JWT) authentication, one connection per
 * process (module scope in a Lambda), long statements started with `asyncExec` and polled with
 * `getQueryStatus`, every value as a bind parameter, the execution name as QUERY_TAG.
 */
export class SnowflakeWarehouse implements Warehouse {
  readonly dialect = "snowflake" as const;
  private connection?: Promise<Connection>;

  constructor(
    private readonly settings: SnowflakeSettings,
    private readonly dependencies: SnowflakeWarehouseDependencies,
  ) {}

  private connect(): Promise<Connection> {
    this.connection ??= (async () => {
      const privateKey = decryptPrivateKey(await this.dependencies.key());
      const create = this.dependencies.createConnection ?? snowflake.createConnection;
      const connection = create({
        account: this.settings.account,
        username: this.settings.username,
        authenticator: "SNOWFLAKE_JWT",
        privateKey,
        ...(this.settings.role ? { role: this.settings.role } : {}),
        ...(this.settings.warehouse ? { warehouse: this.settings.warehouse } : {}),
        ...(this.settings.database ? { database: this.settings.database } : {}),
        ...(this.settings.schema ? { schema: this.settings.schema } : {}),
        application: "post-modern-stack",
      });
      try {
        await connection.connectAsync();
      } catch (error) {
        throw new SnowflakeQueryError(
          `Cannot connect to Snowflake account ${this.settings.account} as ${this.settings.username}: ${(error as Error).message}. Check the user's RSA_PUBLIC_KEY matches the private key secret.`,
          undefined,
          { cause: error },
        );
      }
      return connection;
    })();
    // A failed connection attempt is not cached: the next call tries again.
    this.connection.catch(() => {
      this.connection = undefined;
    });
    return this.connection;
  }

  private async execute(
    sql: string,
    options: QueryOptions,
    asyncExec: boolean,
  ): Promise<{ queryId: string; rows: Record<string, unknown>[] }> {
    const connection = await this.connect();
    return new Promise((resolve, reject) => {
      connection.execute({
        ...statementOptions(sql, options),
        ...(asyncExec ? { asyncExec: true } : {}),
        complete: (error, statement, rows) => {
          if (error) {
            reject(new SnowflakeQueryError(`Snowflake: ${error.message}`, error.sqlState, { cause: error }));
          } else resolve({ queryId: statement.getQueryId(), rows: (rows ?? []) as Record<string, unknown>[] });
        },
      });
    });
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    options: QueryOptions = {},
  ): Promise<Row[]> {
    return lowerCaseKeys<Row>((await this.execute(sql, options, false)).rows);
  }

  async start(sql: string, options: QueryOptions = {}): Promise<string> {
    return (await this.execute(sql, options, true)).queryId;
  }

  async status(queryId: string): Promise<QueryStatus> {
    const connection = await this.connect();
    const status = (await connection.getQueryStatus(queryId)) as snowflake.QueryStatus;
    if (connection.isStillRunning(status)) return { state: "running" };
    const isAnError = connection.isAnError as unknown as (status: string) => boolean;
    if (isAnError.call(connection, status)) {
      try {
        await connection.getQueryStatusThrowIfError(queryId);
      } catch (error) {
        return { state: "failed", message: `${status}: ${(error as Error).message}` };
      }
      return { state: "failed", message: status };
    }
    return { state: "succeeded" };
  }

  async results<Row extends Record<string, unknown> = Record<string, unknown>>(queryId: string): Promise<Row[]> {
    const connection = await this.connect();
    const statement = await connection.getResultsFromQueryId({ queryId });
    const rows: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      statement
        .streamRows()
        .on("data", (row: Record<string, unknown>) => rows.push(row))
        .on("error", (error: Error) =>
          reject(new SnowflakeQueryError(`Snowflake: ${error.message}`, undefined, { cause: error })),
        )
        .on("end", () => resolve());
    });
    return lowerCaseKeys<Row>(rows);
  }

  async close(): Promise<void> {
    if (!this.connection) return;
    const connection = await this.connection.catch(() => undefined);
    this.connection = undefined;
    if (!connection) return;
    await new Promise<void>((resolve) => connection.destroy(() => resolve()));
  }
}
