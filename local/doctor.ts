import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { RAW_SCHEMA } from "../core/data/raw-events.ts";
import { DuckDBWarehouse } from "../core/warehouse/duckdb.ts";
import { warehouseEventDays } from "./data-commands.ts";
import { DEFAULT_ENDPOINT_PORT, type PmsHome } from "./home.ts";

export type CheckLevel = "ok" | "warn" | "fail";

export interface DoctorCheck {
  readonly name: string;
  readonly level: CheckLevel;
  readonly detail: string;
}

export interface DoctorOptions {
  readonly home: PmsHome;
  readonly tenant: string;
  readonly env: NodeJS.ProcessEnv;
  /** @default process.versions.node */
  readonly nodeVersion?: string;
  /** @default DEFAULT_ENDPOINT_PORT */
  readonly port?: number;
  /** Where the report's browser test looks for Chromium. @default "/usr/bin/chromium" */
  readonly chromiumPath?: string;
  /** The AWS SDK's default credential chain and region; injected by tests. */
  readonly aws?: () => Promise<{ readonly region?: string; readonly credentialsSource?: string }>;
}

/** The lowest Node.js major package.json's `engines` allows. */
const MINIMUM_NODE_MAJOR = 20;

/**
 * `pms doctor`: what a first run needs, checked in a second, each with what to do about it. AWS
 * credentials are optional (only `pms start` / `pms status` and `cdk deploy` use them); their
 * values never reach the output, only where they come from.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const nodeVersion = options.nodeVersion ?? process.versions.node;
  const chromium = options.chromiumPath ?? "/usr/bin/chromium";
  const port = options.port ?? DEFAULT_ENDPOINT_PORT;
  const checks: DoctorCheck[] = [];
  const major = Number(nodeVersion.split(".")[0]);
  checks.push(
    major >= MINIMUM_NODE_MAJOR
      ? { name: "Node.js", level: "ok", detail: `v${nodeVersion}` }
      : {
          name: "Node.js",
          level: "fail",
          detail: `v${nodeVersion}: post-modern-stack needs Node.js ${MINIMUM_NODE_MAJOR} or later (https://nodejs.org)`,
        },
  );
  checks.push(
    existsSync(chromium)
      ? { name: "Chromium", level: "ok", detail: `${chromium} (the report's browser test runs)` }
      : {
          name: "Chromium",
          level: "warn",
          detail: `${chromium} is missing: the report's browser test is skipped (Debian/Ubuntu: apt-get install chromium)`,
        },
  );
  checks.push(await portCheck(port));
  checks.push(await awsCheck(options));
  checks.push(await warehouseCheck(options.home, options.tenant));
  return checks;
}

async function portCheck(port: number): Promise<DoctorCheck> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
  return free
    ? { name: "Endpoint port", level: "ok", detail: `${port} is free for the local endpoint` }
    : {
        name: "Endpoint port",
        level: "warn",
        detail: `${port} is in use (by the local endpoint if \`pms serve\` runs; else pass --port to \`pms run\` / \`pms serve\`)`,
      };
}

async function awsCheck(options: DoctorOptions): Promise<DoctorCheck> {
  const resolveAws = options.aws ?? defaultAwsChain;
  try {
    const found = await resolveAws();
    const region = found.region ?? "no region (set AWS_REGION)";
    if (!found.credentialsSource)
      return {
        name: "AWS",
        level: "warn",
        detail: `no credentials; ${region}. Only \`pms start\`, \`pms status\` and \`cdk deploy\` need them (aws configure, or AWS_PROFILE)`,
      };
    return {
      name: "AWS",
      level: found.region ? "ok" : "warn",
      detail: `credentials from ${found.credentialsSource}; region ${region}`,
    };
  } catch (error) {
    return { name: "AWS", level: "warn", detail: `could not read the AWS configuration: ${(error as Error).message}` };
  }
}

/**
 * The SDK's own default chain (environment, shared files, SSO, container and instance roles), the
 * one every `pms` cloud command uses; the instance metadata lookup is bounded so `doctor` stays fast.
 */
async function defaultAwsChain(): Promise<{ region?: string; credentialsSource?: string }> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client({});
  try {
    const region = await client.config.region().catch(() => undefined);
    const credentials = await Promise.race([
      client.config.credentials().catch(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000).unref()),
    ]);
    // The SDK records which provider answered (`$source`); its keys name it without any secret.
    const sources = (credentials as { $source?: Record<string, unknown> } | undefined)?.$source;
    const source = credentials
      ? sources && Object.keys(sources).length > 0
        ? Object.keys(sources).join(", ")
        : "the default credential chain"
      : undefined;
    return { ...(region ? { region } : {}), ...(source ? { credentialsSource: source } : {}) };
  } finally {
    client.destroy();
  }
}

async function warehouseCheck(home: PmsHome, tenant: string): Promise<DoctorCheck> {
  if (!existsSync(home.warehouse))
    return {
      name: "Warehouse",
      level: "warn",
      detail: `${home.warehouse} does not exist yet: \`pms data generate\` (or \`npm run pipeline\`) creates it`,
    };
  const days = await warehouseEventDays(home, tenant);
  const warehouse = new DuckDBWarehouse({ path: home.warehouse });
  let products = 0;
  try {
    const [row] = await warehouse.query<{ n: number }>(
      `select count(*) as n from information_schema.tables where table_schema = '${RAW_SCHEMA}' and table_name = 'products'`,
    );
    if (Number(row?.n ?? 0) > 0)
      products = Number(
        (await warehouse.query<{ n: number }>(`select count(*) as n from ${RAW_SCHEMA}.products`))[0]?.n,
      );
  } finally {
    await warehouse.close();
  }
  if (!days)
    return {
      name: "Warehouse",
      level: "warn",
      detail: `${home.warehouse} holds no events for tenant ${tenant}: \`pms data generate\` or \`pms data load <file> --format <format>\``,
    };
  return {
    name: "Warehouse",
    level: "ok",
    detail:
      `${home.warehouse}: ${days.events.toLocaleString("en-US")} events for tenant ${tenant}, ${days.first}..${days.last}; ` +
      (products > 0
        ? `${products.toLocaleString("en-US")} products (category slices on)`
        : "no product catalogue (no category slices: `pms data generate --catalog`)"),
  };
}

export function formatDoctor(checks: readonly DoctorCheck[]): string {
  const mark = { ok: "✔", warn: "!", fail: "✖" } as const;
  const width = Math.max(...checks.map((check) => check.name.length));
  return checks.map((check) => `${mark[check.level]} ${check.name.padEnd(width)}  ${check.detail}`).join("\n");
}
