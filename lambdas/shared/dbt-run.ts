import { z } from "zod";
import type { DbtRunState } from "../../core/pipeline/contracts.ts";
import type { TransformRun } from "../../core/ports/transformer.ts";
import { DbtCloudTransformer } from "../../core/transform/dbt-cloud.ts";
import { optionalEnv, requireEnv } from "./env.ts";
import { readSecret } from "./secrets.ts";

/** `$.transform` as "Start the dbt run" wrote it; "Check" and "Cancel" read it back. */
export const DbtRunStateSchema = z.looseObject({
  runId: z.string().min(1),
  runUrl: z.string().min(1),
  status: z.enum(["queued", "starting", "running", "success", "error", "cancelled"]),
  finished: z.boolean(),
  deadline: z.iso.datetime(),
  redriveCount: z.number().int().min(0).optional(),
  timedOut: z.boolean(),
  message: z.string().optional(),
});

export function dbtRunState(
  run: TransformRun,
  deadline: string | { readonly deadline: string; readonly redriveCount?: number },
  timedOut: boolean,
): DbtRunState {
  const { deadline: at, redriveCount } =
    typeof deadline === "string" ? { deadline, redriveCount: undefined } : deadline;
  return {
    runId: run.id,
    runUrl: run.url,
    status: run.status,
    finished: run.finished,
    deadline: at,
    ...(redriveCount === undefined ? {} : { redriveCount }),
    timedOut,
    ...(run.message === undefined ? {} : { message: run.message }),
  };
}

/** Thrown at cold start for a setting that is present but unusable. */
export class InvalidDbtSettingError extends Error {
  override readonly name = "InvalidDbtSetting";
}

/** The run timeout in seconds from `DBT_RUN_TIMEOUT_SECONDS`, read once at cold start. */
export function dbtRunTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = requireEnv("DBT_RUN_TIMEOUT_SECONDS", env);
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new InvalidDbtSettingError(`DBT_RUN_TIMEOUT_SECONDS must be a whole number of seconds above 0, got "${raw}"`);
  return seconds;
}

/**
 * The token text of the secret: either the bare service token, or a JSON object with a `token` key
 * (what the console's key/value editor stores).
 */
export function tokenFromSecretText(text: string, secretId: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return trimmed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
  const token = (parsed as { token?: unknown }).token;
  if (typeof token !== "string" || token.trim() === "")
    throw new InvalidDbtSettingError(
      `Secrets Manager secret "${secretId}" is a JSON object without a "token" text field: store the bare dbt Cloud service token, or {"token": "<service token>"}`,
    );
  return token.trim();
}

/** The dbt Cloud adapter configured from the function's environment (read once, at cold start). */
export function dbtCloudTransformerFromEnvironment(env: NodeJS.ProcessEnv = process.env): DbtCloudTransformer {
  const secretId = requireEnv("DBT_CLOUD_TOKEN_SECRET_ID", env);
  const stepsJson = optionalEnv("DBT_CLOUD_JOB_STEPS", "", env);
  let jobSteps: string[] | undefined;
  if (stepsJson !== "") {
    const parsed = z.array(z.string().regex(/^dbt /, "must be a dbt command")).min(1).safeParse(safeJson(stepsJson));
    if (!parsed.success)
      throw new InvalidDbtSettingError(
        `DBT_CLOUD_JOB_STEPS must be a JSON list of the job's dbt commands, e.g. ["dbt build"]: ${z.prettifyError(parsed.error)}`,
      );
    jobSteps = parsed.data;
  }
  return new DbtCloudTransformer({
    baseUrl: requireEnv("DBT_CLOUD_API_BASE_URL", env),
    accountId: requireEnv("DBT_CLOUD_ACCOUNT_ID", env),
    jobId: requireEnv("DBT_CLOUD_JOB_ID", env),
    token: async (options) =>
      tokenFromSecretText(await readSecret(secretId, { forceFetch: options?.refresh ?? false }), secretId),
    tokenSource: `Secrets Manager secret "${secretId}" (DBT_CLOUD_TOKEN_SECRET_ID)`,
    ...(jobSteps === undefined ? {} : { jobSteps }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
