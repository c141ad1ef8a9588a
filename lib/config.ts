import { readFileSync } from "node:fs";
import { Construct } from "constructs";
import { z } from "zod";
import { EndpointSettingsSchema, minimumDeployTimeoutSeconds } from "../core/deploy/settings.ts";
import { DEFAULT_TRAINING_PARAMETERS } from "../core/model/parameters.ts";
import { type RunDefaults, RunDefaultsSchema } from "../core/pipeline/run-context.ts";

/**
 * The deploy configuration: one object under the `pms` key of the cdk.json context, overridable
 * per key with `-c pms.<path>=<value>` (or wholesale with `-c pms='<json>'`). It is read once, in
 * `bin/app.ts`, and every construct receives the typed, validated result.
 */
export const CONTEXT_KEY = "pms";

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Families `tfjs-node-gpu` (CUDA 11.2) runs on with the AL2023 NVIDIA AMI; see ARCHITECTURE.md. */
const GPU_INSTANCE_TYPE = /^(g4dn|g5|g6|g6e|gr6|p4d|p4de|p5)\.[a-z0-9]+$/;

/** SageMaker lower-cases names inside ARNs, so IAM scoping by prefix only works for lower-case names. */
const resourceName = (max: number) =>
  z
    .string()
    .regex(
      new RegExp(`^[a-z][a-z0-9-]{0,${max - 1}}$`),
      `must be lower-case letters, digits and hyphens, starting with a letter, at most ${max} characters`,
    );

/** `-c` overrides arrive as strings and are JSON-parsed; a numeric-looking identifier stays usable. */
const text = () => z.preprocess((value) => (typeof value === "number" ? String(value) : value), z.string().min(1));

const snowflakeIdentifier = () =>
  text().pipe(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be an unquoted Snowflake identifier (letters, digits, _ and $)"),
  );

const secretName = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "must be a Secrets Manager secret name (letters, digits and /_+=.@-)");

const positiveInt = (max: number) => z.number().int().min(1).max(max);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** EventBridge Scheduler's six-field cron: minutes hours day-of-month month day-of-week year. */
const CronSchema = z
  .string()
  .transform((value) => value.trim().replace(/^cron\((.*)\)$/, "$1"))
  .superRefine((value, context) => {
    const fields = value.split(/\s+/);
    if (fields.length !== 6 || !fields.every((field) => /^[0-9A-Z*?,/#LW-]+$/.test(field))) {
      context.addIssue({
        code: "custom",
        message: "must be six cron fields: minutes hours day-of-month month day-of-week year",
      });
      return;
    }
    if ((fields[2] === "?") === (fields[4] === "?")) {
      context.addIssue({ code: "custom", message: "exactly one of day-of-month and day-of-week must be ?" });
    }
  });

const ScheduleSchema = z
  .object({
    cron: CronSchema.default("0 3 * * ? *"),
    timezone: z.string().refine(isTimeZone, "must be an IANA time zone such as Europe/Paris or UTC").default("UTC"),
    enabled: z.boolean().default(true),
  })
  .strict();

const DbtCloudSchema = z
  .object({
    accountId: positiveInt(Number.MAX_SAFE_INTEGER),
    jobId: positiveInt(Number.MAX_SAFE_INTEGER),
    apiBaseUrl: z
      .url({ protocol: /^https$/, error: "must be an https:// URL" })
      .refine((url) => new URL(url).pathname === "/", "must be the host only, without a path (the client adds /api/v2)")
      .transform((url) => url.replace(/\/+$/, ""))
      .default("https://cloud.getdbt.com"),
    tokenSecretName: secretName().default("pms/dbt-cloud-token"),
    pollIntervalSeconds: z.number().int().min(10).max(3600).default(60),
    timeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(120),
    /**
     * Overrides the job's own commands for pipeline runs (dbt Cloud's `steps_override`).
     * @default the job's configured commands
     */
    steps: z.array(z.string().regex(/^dbt /, "must be a dbt command such as dbt build")).min(1).optional(),
  })
  .strict();

const SnowflakeSchema = z
  .object({
    account: text().pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
          "must be the account identifier (orgname-accountname, or a locator like xy12345.eu-west-1)",
        ),
    ),
    user: snowflakeIdentifier(),
    role: snowflakeIdentifier(),
    warehouse: snowflakeIdentifier(),
    database: snowflakeIdentifier(),
    schema: snowflakeIdentifier(),
    /** Where the raw events live: the dbt source `raw.events` of the target database (documentation and `pms data load`; no Lambda reads it). */
    rawTable: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){2}$/, "must be DATABASE.SCHEMA.TABLE"),
    privateKeySecretName: secretName().default("pms/snowflake-private-key"),
    /** External stage whose URL is the artifact bucket's runs/ prefix (`s3://<bucket>/runs/`). */
    unloadStage: z
      .string()
      .regex(
        /^@?[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$/,
        "must be a stage name, optionally qualified (DATABASE.SCHEMA.STAGE)",
      ),
    pollIntervalSeconds: z.number().int().min(5).max(3600).default(30),
    /**
     * How long the extract (unload, then the split statistics) may take: each statement's
     * STATEMENT_TIMEOUT_IN_SECONDS and "Check the extract"'s deadline.
     */
    extractTimeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(60),
    /**
     * From `DESC INTEGRATION <name>` (STORAGE_AWS_IAM_USER_ARN, STORAGE_AWS_EXTERNAL_ID). When set,
     * the stack creates the role the storage integration assumes, limited to the bucket's `runs/`.
     */
    storageIntegration: z
      .object({
        iamUserArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:user\/\S+$/, "must be an IAM user ARN"),
        externalId: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict();

export const BATCH_PURCHASE_OPTIONS = ["spot-with-on-demand-fallback", "spot", "on-demand"] as const;

const BatchSchema = z
  .object({
    instanceTypes: z
      .array(
        z
          .string()
          .regex(GPU_INSTANCE_TYPE, "must be a GPU instance type the AL2023 NVIDIA AMI supports, e.g. g4dn.xlarge"),
      )
      .min(1)
      .default(["g4dn.xlarge"]),
    purchase: z.enum(BATCH_PURCHASE_OPTIONS).default("spot-with-on-demand-fallback"),
    maxVcpus: positiveInt(10_000).default(16),
    /** What one training job reserves: a whole g4dn.xlarge by default (4 vCPUs, 16 GiB of which ECS registers ~15.3). */
    jobVcpus: positiveInt(192).default(4),
    jobMemoryMiB: z.number().int().min(512).default(15_000),
    jobGpus: positiveInt(8).default(1),
    jobTimeoutMinutes: positiveInt(7 * 24 * 60).default(120),
    attempts: positiveInt(10).default(3),
    /**
     * The training image's CUDA 11.2 + cuDNN 8 base (`CUDA_BASE` build argument). Pin it by digest
     * (`…@sha256:<digest>`), ideally mirrored into your own ECR: NVIDIA retires old tags.
     */
    cudaBaseImage: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$/,
        "must be an image reference, e.g. nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04@sha256:<digest>",
      )
      .default("nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04"),
  })
  .strict()
  .refine((batch) => batch.jobVcpus <= batch.maxVcpus, {
    message: "jobVcpus must not exceed maxVcpus, or no job could ever start",
    path: ["jobVcpus"],
  });

const SageMakerSchema = z
  .object({
    /**
     * Models and endpoint configs are named `<endpointName>-<run shortId ≤ 24>` within SageMaker's
     * 63 characters, and IAM is scoped to that prefix — hence at most 38.
     * @default `<namePrefix>-recommender`
     */
    endpointName: resourceName(38).optional(),
    /** @default `<namePrefix>-recommender` */
    modelPackageGroupName: resourceName(63).optional(),
    /** `PMS_ENDPOINT_SETTINGS`, validated by the same schema start-deployment parses it with. */
    endpoint: EndpointSettingsSchema.default({
      type: "instance",
      instanceType: "ml.m5.large",
      instanceCount: 1,
      trafficShifting: "all-at-once",
      stepPercent: 50,
      bakingPeriodSeconds: 600,
      terminationWaitSeconds: 0,
    }),
    keepDeployments: positiveInt(50).default(3),
    deployTimeoutMinutes: positiveInt(8 * 60).default(60),
    pollIntervalSeconds: z.number().int().min(10).max(3600).default(60),
    /** The smoke test fails when one invocation takes longer than this. */
    smokeTestMaxLatencyMs: positiveInt(60_000).default(5000),
    /** Alarms that roll a blue/green update back: p99 model latency, and 5xx errors per minute. */
    alarms: z
      .object({
        modelLatencyP99Ms: z.number().positive().default(500),
        invocation5xxErrorsPerMinute: positiveInt(1_000_000).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((sagemaker, context) => {
    const needed = minimumDeployTimeoutSeconds(sagemaker.endpoint);
    if (sagemaker.deployTimeoutMinutes * 60 < needed) {
      context.addIssue({
        code: "custom",
        message: `too short for the traffic shifting and baking configured in sagemaker.endpoint: at least ${Math.ceil(needed / 60)} minutes`,
        path: ["deployTimeoutMinutes"],
      });
    }
  });

const RunDefaultsConfigSchema = RunDefaultsSchema.omit({ artifactRoot: true });

const TagsSchema = z
  .record(
    z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u, "tag keys are 1-128 letters, digits, spaces and _.:/=+-@"),
    z
      .string()
      .regex(/^[\p{L}\p{Z}\p{N}_.:/=+@-]{0,256}$/u, "tag values are up to 256 letters, digits, spaces and _.:/=+-@"),
  )
  .refine((tags) => Object.keys(tags).length <= 40, "at most 40 cost tags (AWS allows 50 per resource)");

const VpcSchema = z
  .object({
    /**
     * An existing VPC. Its subnet ids are needed too, so `cdk synth` stays offline (no VPC lookup);
     * those subnets must reach ECR, S3, CloudWatch Logs, ECS and STS (NAT or endpoints).
     */
    existing: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id like vpc-0a1b2c3d4e5f67890"),
        subnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id like subnet-0a1b2c3d4e5f67890"))
          .min(1),
      })
      .strict()
      .optional(),
    /** Availability zones of the VPC the stack creates (ignored with `existing`). */
    maxAzs: positiveInt(6).default(2),
    /**
     * Zones that get the interface endpoints (each costs ~$7/month per zone); instances in the
     * other zones reach them across zones.
     */
    endpointAzs: positiveInt(6).default(1),
  })
  .strict()
  .refine((vpc) => vpc.endpointAzs <= vpc.maxAzs, {
    message: "endpointAzs cannot exceed maxAzs",
    path: ["endpointAzs"],
  });

export const DeployConfigSchema = z
  .object({
    namePrefix: resourceName(20).default("pms"),
    schedule: ScheduleSchema.prefault({}),
    dbtCloud: DbtCloudSchema,
    snowflake: SnowflakeSchema,
    batch: BatchSchema.prefault({}),
    sagemaker: SageMakerSchema.prefault({}),
    runDefaults: RunDefaultsConfigSchema,
    notificationEmails: z.array(z.email("must be an e-mail address")).default([]),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
      })
      .default(30),
    costTags: TagsSchema.default({ project: "post-modern-stack" }),
    vpc: VpcSchema.prefault({}),
  })
  .strict()
  .transform((config) => ({
    ...config,
    sagemaker: {
      ...config.sagemaker,
      endpointName: config.sagemaker.endpointName ?? `${config.namePrefix}-recommender`,
      modelPackageGroupName: config.sagemaker.modelPackageGroupName ?? `${config.namePrefix}-recommender`,
    },
  }));

export type DeployConfig = z.output<typeof DeployConfigSchema>;
export type DeployConfigInput = z.input<typeof DeployConfigSchema>;

/**
 * A complete configuration with realistic values, quoted in error messages ("e.g. …") and
 * documented in docs/infra.md. cdk.json carries the same shape with placeholders for the
 * account-specific values.
 */
export const EXAMPLE_CONFIG = {
  namePrefix: "pms",
  schedule: { cron: "0 3 * * ? *", timezone: "Europe/Paris", enabled: true },
  dbtCloud: {
    accountId: 12345,
    jobId: 67890,
    apiBaseUrl: "https://cloud.getdbt.com",
    tokenSecretName: "pms/dbt-cloud-token",
    pollIntervalSeconds: 60,
    timeoutMinutes: 120,
    steps: ["dbt build --select +marts"],
  },
  snowflake: {
    account: "myorg-myaccount",
    user: "PMS_PIPELINE",
    role: "PMS_PIPELINE",
    warehouse: "PMS_WH",
    database: "ANALYTICS",
    schema: "PMS",
    rawTable: "ANALYTICS.RAW.EVENTS",
    privateKeySecretName: "pms/snowflake-private-key",
    unloadStage: "ANALYTICS.PMS.ARTIFACTS",
    pollIntervalSeconds: 30,
    storageIntegration: {
      iamUserArn: "arn:aws:iam::123456789012:user/abc1-s-v2st0000",
      externalId: "MYORG_SFCRole=2_abcdefghijklmnopqrstuvwxyz0=",
    },
  },
  batch: {
    instanceTypes: ["g4dn.xlarge"],
    purchase: "spot-with-on-demand-fallback",
    maxVcpus: 16,
    jobVcpus: 4,
    jobMemoryMiB: 15_000,
    jobGpus: 1,
    jobTimeoutMinutes: 120,
    attempts: 3,
    cudaBaseImage: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04@sha256:${"0123456789abcdef".repeat(4)}`,
  },
  sagemaker: {
    endpointName: "pms-recommender",
    modelPackageGroupName: "pms-recommender",
    endpoint: {
      type: "instance",
      instanceType: "ml.m5.large",
      instanceCount: 2,
      trafficShifting: "canary",
      stepPercent: 50,
      bakingPeriodSeconds: 600,
      terminationWaitSeconds: 0,
    },
    keepDeployments: 3,
    deployTimeoutMinutes: 60,
    pollIntervalSeconds: 60,
    smokeTestMaxLatencyMs: 5000,
    alarms: { modelLatencyP99Ms: 500, invocation5xxErrorsPerMinute: 1 },
  },
  runDefaults: {
    lookbackDays: 7,
    holdoutDays: 1,
    tenant: "demo-shop",
    training: DEFAULT_TRAINING_PARAMETERS,
    gate: ["hr@20 >= popularity + 0.02", "mrr@20 >= champion - 0.01"],
    deploy: "auto",
    minSessions: 1000,
  },
  notificationEmails: ["ml-team@example.com"],
  logRetentionDays: 30,
  costTags: { project: "post-modern-stack", "cost-center": "ml-platform" },
  vpc: {
    existing: { vpcId: "vpc-0a1b2c3d4e5f67890", subnetIds: ["subnet-0a1b2c3d4e5f67890", "subnet-0f9e8d7c6b5a43210"] },
    maxAzs: 2,
    endpointAzs: 1,
  },
} satisfies DeployConfigInput;

export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
  constructor(
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      `The deploy configuration (cdk.json context "${CONTEXT_KEY}", overridden with -c ${CONTEXT_KEY}.<key>=<value>) is invalid:\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
      options,
    );
  }
}

function exampleAt(path: readonly PropertyKey[]): unknown {
  let node: unknown = EXAMPLE_CONFIG;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key as string];
  }
  return node;
}

function describeProblem(issue: z.core.$ZodIssue): string {
  const key = [CONTEXT_KEY, ...issue.path.map(String)].join(".");
  const example = exampleAt(issue.path);
  // An unknown key (often a typo) has no example of its own: list the keys its object accepts.
  if (issue.code === "unrecognized_keys") {
    return `${key}: unknown key(s) ${issue.keys.join(", ")}; known keys: ${Object.keys((example as object) ?? {}).join(", ")}`;
  }
  return example === undefined
    ? `${key}: ${issue.message}`
    : `${key}: ${issue.message} (example: ${JSON.stringify(example)})`;
}

/** `-c pms.batch.maxVcpus=32` arrives as the string "32"; JSON gives it its type, anything else stays text. */
function parseOverride(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next !== null && typeof next === "object" && !Array.isArray(next) ? { ...next } : {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

/** The raw configuration: the `pms` object, then every `pms.<path>` key applied over it. */
export function rawDeployConfig(context: Readonly<Record<string, unknown>>): unknown {
  const base = parseOverride(context[CONTEXT_KEY]);
  if (base !== undefined && (base === null || typeof base !== "object" || Array.isArray(base))) {
    throw new DeployConfigError([`${CONTEXT_KEY}: must be an object (e.g. the "context" block of cdk.json)`]);
  }
  const raw: Record<string, unknown> = structuredClone((base as Record<string, unknown> | undefined) ?? {});
  const overrides = Object.keys(context)
    .filter((key) => key.startsWith(`${CONTEXT_KEY}.`))
    .sort((a, b) => a.split(".").length - b.split(".").length);
  for (const key of overrides) setPath(raw, key.split(".").slice(1), parseOverride(context[key]));
  return raw;
}

/** Validates a raw configuration object; every problem is reported at once, each naming its key. */
export function parseDeployConfig(raw: unknown): DeployConfig {
  const result = DeployConfigSchema.safeParse(raw);
  if (!result.success) throw new DeployConfigError(result.error.issues.map(describeProblem), { cause: result.error });
  return result.data;
}

/** Reads the configuration from a construct's context (the App) or from a plain context object. */
export function loadDeployConfig(source: Construct | Readonly<Record<string, unknown>>): DeployConfig {
  const context = source instanceof Construct ? source.node.getAllContext() : source;
  return parseDeployConfig(rawDeployConfig(context));
}

/** For tools outside the CDK app (the local twin, `pms start`): the configuration in a cdk.json file. */
export function loadDeployConfigFromCdkJson(
  cdkJsonPath: string | URL = new URL("../cdk.json", import.meta.url),
): DeployConfig {
  const cdkJson = JSON.parse(readFileSync(cdkJsonPath, "utf8")) as { context?: Record<string, unknown> };
  return loadDeployConfig(cdkJson.context ?? {});
}

/** What PrepareRun resolves an execution's input against: the configured defaults plus where runs live. */
export function runDefaultsFrom(config: DeployConfig, artifactRoot: string): RunDefaults {
  return RunDefaultsSchema.parse({ ...config.runDefaults, artifactRoot });
}
