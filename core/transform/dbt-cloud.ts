import { setTimeout as sleepFor } from "node:timers/promises";
import { z } from "zod";
import type { DbtRunStatus } from "../pipeline/contracts.ts";
import type { Transformer, TransformRequest, TransformRun } from "../ports/transformer.ts";

/**
 * dbt Cloud adapter of the Transformer port, over the Administrative API v2.
 *
 * Written by hand on Node's fetch because no maintained JavaScript client for the v2 API exists; the
 * three calls it needs are small. It follows the documented shapes (docs.getdbt.com/dbt-cloud/api-v2,
 * operations "Trigger Job Run", "Retrieve Run" and "Cancel Run"):
 * - `POST {base}/api/v2/accounts/{account_id}/jobs/{job_id}/run/` with `{"cause": string,
 *   "steps_override"?: string[]}`;
 * - `GET {base}/api/v2/accounts/{account_id}/runs/{run_id}/`;
 * - `POST {base}/api/v2/accounts/{account_id}/runs/{run_id}/cancel/`;
 * each answering the envelope `{"status": {"code", "is_success", "user_message", "developer_message"},
 * "data": Run}`, where a Run carries `id`, `status` (1 queued, 2 starting, 3 running, 10 success,
 * 20 error, 30 cancelled), `status_humanized`, `status_message`, `href`, `project_id`, `is_complete`,
 * `is_error`, `is_cancelled`, `is_success`. Requests carry `Authorization: Token <token>` and
 * `Accept: application/json`.
 */

const STATUS_BY_CODE: Readonly<Record<number, DbtRunStatus>> = {
  1: "queued",
  2: "starting",
  3: "running",
  10: "success",
  20: "error",
  30: "cancelled",
};

const FINISHED: ReadonlySet<DbtRunStatus> = new Set(["success", "error", "cancelled"]);

/** dbt Cloud stores the cause in a 255-character column. */
const MAX_CAUSE_LENGTH = 255;

const RunSchema = z.looseObject({
  id: z.number().int(),
  status: z.number().int(),
  status_humanized: z.string().nullish(),
  status_message: z.string().nullish(),
  href: z.string().nullish(),
  project_id: z.number().int().nullish(),
  is_complete: z.boolean().nullish(),
  is_error: z.boolean().nullish(),
  is_cancelled: z.boolean().nullish(),
  is_success: z.boolean().nullish(),
});
type DbtCloudRun = z.infer<typeof RunSchema>;

const RunEnvelopeSchema = z.looseObject({ data: RunSchema });

const ErrorEnvelopeSchema = z.looseObject({
  status: z.looseObject({
    user_message: z.string().nullish(),
    developer_message: z.string().nullish(),
  }),
});

export interface DbtCloudTransformerOptions {
  /** The account's access URL, e.g. `https://cloud.getdbt.com`, `https://emea.dbt.com` or a cell URL. */
  readonly baseUrl: string;
  readonly accountId: string;
  readonly jobId: string;
  /**
   * The service token, asked for on every request. After a 401/403 it is asked once more with
   * `refresh: true` (bypassing any cache), so a token rotated since it was cached is picked up.
   */
  readonly token: (options?: { readonly refresh: boolean }) => Promise<string>;
  /** Where the token lives, named in authentication errors, e.g. `Secrets Manager secret "pms/dbt-cloud-token"`. */
  readonly tokenSource: string;
  /**
   * The job's commands. When set and a run has vars, the trigger sends them as `steps_override`
   * with `--vars` appended, since the v2 API has no other way to pass vars to a job run.
   * @default undefined: the job runs its own commands and the request's vars are not sent
   */
  readonly jobSteps?: readonly string[];
  /** @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Attempts per call for throttled, failed (5xx) or timed-out requests. @default 4 */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles each retry. @default 1_000 */
  readonly backoffBaseMs?: number;
  /** Longest `Retry-After` honoured inside one call; a longer one is left to Step Functions' retry. @default 30_000 */
  readonly maxRetryAfterMs?: number;
  /**
   * Time one call may take, retries included: no wait starts that would end past it, so a call gives
   * up before the Lambda's own timeout (one minute for the dbt functions) and Step Functions' Retry
   * takes over. @default 45_000
   */
  readonly callBudgetMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Base of the dbt Cloud errors: every one names the run or job it concerns and a URL to open. */
export class DbtCloudError extends Error {
  override readonly name: string = "DbtCloudError";
  constructor(
    message: string,
    /** The run's page when known, else the API URL that failed. */
    readonly url: string,
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(`${message} (${url})`, options);
  }
}

/** 401/403: the token is missing, wrong, expired, or lacks the permission. Retrying does not help. */
export class DbtCloudAuthError extends DbtCloudError {
  override readonly name = "DbtCloudAuthError";
}

/** 404: the account, job or run id does not exist for this token. */
export class DbtCloudNotFoundError extends DbtCloudError {
  override readonly name = "DbtCloudNotFound";
}

/** Any other 4xx, or an answer that does not have the documented shape. */
export class DbtCloudRequestError extends DbtCloudError {
  override readonly name = "DbtCloudRequestError";
}

/**
 * Throttling, server errors, timeouts and network failures that outlasted the bounded retries. The
 * name is what the state machine's Retry catches, so Step Functions tries again later.
 */
export class DbtCloudTransientError extends DbtCloudError {
  override readonly name = "TransientError";
}

interface Operation {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: unknown;
  /** What the call is about, in words, e.g. `run 42 of account 7`. */
  readonly subject: string;
  /** The page to show a user in an error, when one is known before the call. */
  readonly pageUrl?: string;
}

export class DbtCloudTransformer implements Transformer {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly callBudgetMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DbtCloudTransformerOptions) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl);
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => sleepFor(ms));
    this.random = options.random ?? Math.random;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.backoffBaseMs = options.backoffBaseMs ?? 1_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.callBudgetMs = options.callBudgetMs ?? 45_000;
    this.now = options.now ?? Date.now;
  }

  async start(request: TransformRequest): Promise<TransformRun> {
    const { accountId, jobId } = this.options;
    const body: { cause: string; steps_override?: string[] } = { cause: request.cause.slice(0, MAX_CAUSE_LENGTH) };
    const vars = request.vars ?? {};
    if (this.options.jobSteps && this.options.jobSteps.length > 0 && Object.keys(vars).length > 0)
      body.steps_override = this.options.jobSteps.map((step) => withVars(step, vars));
    const run = await this.call({
      method: "POST",
      path: `/api/v2/accounts/${enc(accountId)}/jobs/${enc(jobId)}/run/`,
      body,
      subject: `job ${jobId} of account ${accountId}`,
    });
    return this.toTransformRun(run);
  }

  async get(runId: string): Promise<TransformRun> {
    const run = await this.call({
      method: "GET",
      path: `/api/v2/accounts/${enc(this.options.accountId)}/runs/${enc(runId)}/`,
      subject: `run ${runId} of account ${this.options.accountId}`,
      pageUrl: this.runPageUrl(runId),
    });
    return this.toTransformRun(run);
  }

  async cancel(runId: string): Promise<TransformRun> {
    const run = await this.call({
      method: "POST",
      path: `/api/v2/accounts/${enc(this.options.accountId)}/runs/${enc(runId)}/cancel/`,
      subject: `run ${runId} of account ${this.options.accountId}`,
      pageUrl: this.runPageUrl(runId),
    });
    return this.toTransformRun(run);
  }

  /**
   * The run's page when the API gave no `href` (or before any answer, in an error). With the project
   * id this is the deploy URL dbt Cloud shows; without it, the closest URL the run id alone gives.
   */
  private runPageUrl(runId: string | number, projectId?: number | null): string {
    const account = enc(this.options.accountId);
    return projectId === undefined || projectId === null
      ? `${this.baseUrl}/deploy/${account}/runs/${enc(String(runId))}/`
      : `${this.baseUrl}/deploy/${account}/projects/${projectId}/runs/${enc(String(runId))}/`;
  }

  private toTransformRun(run: DbtCloudRun): TransformRun {
    const url = run.href ?? this.runPageUrl(run.id, run.project_id);
    const status = statusOf(run);
    if (status === undefined)
      throw new DbtCloudRequestError(
        `dbt Cloud answered run ${run.id} with status ${run.status} (${run.status_humanized ?? "no status_humanized"}), ` +
          "which is not one of the documented codes 1, 2, 3, 10, 20, 30",
        url,
      );
    const finished = FINISHED.has(status);
    const message =
      finished && status !== "success"
        ? (run.status_message ?? run.status_humanized ?? (status === "error" ? "Error" : "Cancelled"))
        : undefined;
    return {
      id: String(run.id),
      url,
      status,
      finished,
      ...(message === undefined ? {} : { message }),
    };
  }

  private async call(operation: Operation): Promise<DbtCloudRun> {
    const apiUrl = `${this.baseUrl}${operation.path}`;
    const where = operation.pageUrl ?? apiUrl;
    const describe = `${operation.method} ${operation.path}`;
    let lastProblem = "";
    let lastError: unknown;
    let attempts = 0;
    const startedAt = this.now();
    const wait = async (ms: number): Promise<boolean> => {
      if (this.now() - startedAt + ms > this.callBudgetMs) {
        lastProblem += `; no time left in this call to wait ${ms} ms more`;
        return false;
      }
      await this.sleep(ms);
      return true;
    };
    let refreshToken = false;
    let refreshedToken = false;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      attempts = attempt;
      const token = await this.options.token({ refresh: refreshToken });
      refreshToken = false;
      let response: Response;
      try {
        response = await this.fetchImpl(apiUrl, {
          method: operation.method,
          headers: {
            Authorization: `Token ${token}`,
            Accept: "application/json",
            ...(operation.body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          ...(operation.body === undefined ? {} : { body: JSON.stringify(operation.body) }),
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (error) {
        // A timeout or a network failure: the service may be briefly unreachable, so retry. A trigger
        // that timed out may already have queued a run; dbt Cloud runs one job's runs one at a time,
        // so a duplicate costs a second build of the same models, not wrong data.
        lastError = error;
        lastProblem =
          error instanceof Error && error.name === "TimeoutError"
            ? `no answer within ${this.requestTimeoutMs} ms`
            : `network error: ${redact(error instanceof Error ? error.message : String(error), token)}`;
        if (attempt >= this.maxAttempts || !(await wait(this.backoff(attempt)))) break;
        continue;
      }

      const text = await response.text();
      if (response.ok) {
        const parsed = RunEnvelopeSchema.safeParse(parseJson(text));
        if (!parsed.success)
          throw new DbtCloudRequestError(
            `dbt Cloud answered ${describe} for ${operation.subject} with a body that is not a documented run envelope: ` +
              `${z.prettifyError(parsed.error)}`,
            where,
            response.status,
            { cause: parsed.error },
          );
        return parsed.data.data;
      }

      const detail = redact(serviceMessage(text), token);
      const status = response.status;
      if ((status === 401 || status === 403) && !refreshedToken && attempt < this.maxAttempts) {
        refreshedToken = true;
        refreshToken = true;
        continue;
      }
      if (status === 401 || status === 403)
        throw new DbtCloudAuthError(
          `dbt Cloud rejected the token for ${describe} on ${operation.subject} (HTTP ${status}${detail}). ` +
            `Check the dbt Cloud service token in ${this.options.tokenSource}: it must be a current service token of ` +
            `account ${this.options.accountId} allowed to trigger, read and cancel the job's runs (e.g. Job Admin on the job's project)`,
          where,
          status,
        );
      if (status === 404)
        throw new DbtCloudNotFoundError(
          `dbt Cloud has no ${operation.subject} (HTTP 404 for ${describe}${detail}). ` +
            "Check the account id, the job id and the API base URL of your region or cell",
          where,
          status,
        );
      if (status === 429 || status >= 500) {
        lastProblem = `HTTP ${status}${detail}`;
        lastError = undefined;
        if (attempt >= this.maxAttempts) break;
        const retryAfter = status === 429 ? retryAfterMs(response.headers.get("retry-after"), this.now()) : undefined;
        if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) {
          lastProblem += `, Retry-After ${Math.ceil(retryAfter / 1000)} s is longer than this call waits`;
          break;
        }
        if (!(await wait(retryAfter ?? this.backoff(attempt)))) break;
        continue;
      }
      throw new DbtCloudRequestError(
        `dbt Cloud refused ${describe} on ${operation.subject} (HTTP ${status}${detail})`,
        where,
        status,
      );
    }
    throw new DbtCloudTransientError(
      `dbt Cloud did not complete ${describe} on ${operation.subject} after ${attempts} attempt(s): ${lastProblem}`,
      where,
      undefined,
      lastError === undefined ? undefined : { cause: lastError },
    );
  }

  /** Exponential backoff with jitter, so containers retrying together do not stampede the API. */
  private backoff(attempt: number): number {
    const ceiling = this.backoffBaseMs * 2 ** (attempt - 1);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }
}

function statusOf(run: DbtCloudRun): DbtRunStatus | undefined {
  const known = STATUS_BY_CODE[run.status];
  if (known) return known;
  // An undocumented code: trust the documented booleans when the API sends them.
  if (run.is_complete === true) {
    if (run.is_success === true) return "success";
    if (run.is_cancelled === true) return "cancelled";
    if (run.is_error === true) return "error";
  }
  return undefined;
}

/** Accepts the access URL with or without a trailing slash or `/api[/v2]` suffix. */
function normaliseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (error) {
    throw new TypeError(
      `dbt Cloud API base URL "${baseUrl}" is not a URL: use your account's access URL, e.g. https://cloud.getdbt.com`,
      { cause: error },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "").replace(/\/api(\/v2)?$/, "")}`;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * A dbt command with `--vars` appended. dbt Cloud splits steps like a POSIX shell, so the JSON is
 * single-quoted with embedded single quotes closed, escaped and reopened.
 */
export function withVars(step: string, vars: Readonly<Record<string, string | number | boolean>>): string {
  const json = JSON.stringify(vars);
  return `${step} --vars '${json.replaceAll("'", `'\\''`)}'`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The service's own explanation from an error envelope, as `: <message>`, or nothing. */
function serviceMessage(text: string): string {
  const parsed = ErrorEnvelopeSchema.safeParse(parseJson(text));
  const message = parsed.success ? (parsed.data.status.user_message ?? parsed.data.status.developer_message) : null;
  return message ? `: ${message.slice(0, 500)}` : "";
}

/** A server that echoes the Authorization header must not put the token into an error. */
function redact(text: string, token: string): string {
  return token.length > 0 ? text.replaceAll(token, "[redacted]") : text;
}

/** `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
