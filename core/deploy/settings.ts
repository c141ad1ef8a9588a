import type { DeploymentConfig, ProductionVariant } from "@aws-sdk/client-sagemaker";
import { z } from "zod";
import { describeInputProblems } from "../pipeline/execution-input.ts";
import { VARIANT_NAME } from "./names.ts";

/**
 * How the endpoint is hosted and how a new model reaches it (`PMS_ENDPOINT_SETTINGS`, from the deploy
 * configuration). Instance endpoints get SageMaker's blue/green traffic shifting (all at once, canary
 * or linear) with a baking period watched by the rollback alarms. Serverless endpoints have no
 * instances to send a canary to, so they shift all at once (still blue/green, still baked and
 * watched by the alarms); asking for canary or linear on serverless is rejected here, at cold start,
 * rather than by SageMaker halfway through a run.
 */
const bakingPeriodSeconds = z
  .number()
  .int()
  .min(0)
  .max(3600)
  .describe("SageMaker WaitIntervalInSeconds: how long each traffic step is watched by the alarms");

const common = {
  bakingPeriodSeconds: bakingPeriodSeconds.default(300),
  /** Extra time the old fleet is kept after the last step (TerminationWaitInSeconds). @default 0 */
  terminationWaitSeconds: z.number().int().min(0).max(3600).default(0),
};

const InstanceSettingsSchema = z
  .object({
    type: z.literal("instance"),
    instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, "must be a SageMaker instance type like ml.m5.large"),
    instanceCount: z.number().int().min(1).max(100).default(1),
    trafficShifting: z.enum(["all-at-once", "canary", "linear"]).default("all-at-once"),
    /** Share of the new fleet that takes traffic first (canary) or per step (linear). */
    stepPercent: z.number().int().min(10).max(50).default(50),
    ...common,
  })
  .strict()
  .superRefine((settings, context) => {
    if (settings.trafficShifting !== "all-at-once" && settings.instanceCount < 2) {
      context.addIssue({
        code: "custom",
        path: ["instanceCount"],
        message: `${settings.trafficShifting} traffic shifting needs at least 2 instances (a step is at most 50% of the fleet); set instanceCount >= 2 or trafficShifting "all-at-once"`,
      });
    }
  });

const ServerlessSettingsSchema = z
  .object({
    type: z.literal("serverless"),
    memorySizeMb: z
      .number()
      .int()
      .refine(
        (mb) => [1024, 2048, 3072, 4096, 5120, 6144].includes(mb),
        "must be 1024, 2048, 3072, 4096, 5120 or 6144",
      ),
    maxConcurrency: z.number().int().min(1).max(200).default(5),
    provisionedConcurrency: z.number().int().min(1).max(200).optional(),
    trafficShifting: z
      .literal("all-at-once", {
        error: 'serverless endpoints shift traffic all at once (no instances for a canary); use "all-at-once"',
      })
      .default("all-at-once"),
    ...common,
  })
  .strict();

export const EndpointSettingsSchema = z.discriminatedUnion("type", [InstanceSettingsSchema, ServerlessSettingsSchema]);
export type EndpointSettings = z.infer<typeof EndpointSettingsSchema>;

export class InvalidEndpointSettingsError extends Error {
  override readonly name = "InvalidEndpointSettings";
}

/** Parses `PMS_ENDPOINT_SETTINGS`; every problem is named with its field. */
export function parseEndpointSettings(json: string, source = "PMS_ENDPOINT_SETTINGS"): EndpointSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new InvalidEndpointSettingsError(`${source} is not valid JSON`, { cause: error });
  }
  const result = EndpointSettingsSchema.safeParse(raw);
  if (!result.success) {
    throw new InvalidEndpointSettingsError(`${source} is invalid:\n${describeInputProblems(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

export function productionVariant(settings: EndpointSettings, modelName: string): ProductionVariant {
  if (settings.type === "serverless") {
    return {
      VariantName: VARIANT_NAME,
      ModelName: modelName,
      ServerlessConfig: {
        MemorySizeInMB: settings.memorySizeMb,
        MaxConcurrency: settings.maxConcurrency,
        ...(settings.provisionedConcurrency ? { ProvisionedConcurrency: settings.provisionedConcurrency } : {}),
      },
    };
  }
  return {
    VariantName: VARIANT_NAME,
    ModelName: modelName,
    InstanceType: settings.instanceType as ProductionVariant["InstanceType"],
    InitialInstanceCount: settings.instanceCount,
    InitialVariantWeight: 1,
  };
}

/**
 * The blue/green policy of an update. `MaximumExecutionTimeoutInSeconds` is kept inside the
 * pipeline's own deploy timeout, so SageMaker gives up (and keeps the old fleet) before the state
 * machine stops watching — an update can never finish unobserved after the execution has failed.
 */
export function blueGreenDeploymentConfig(
  settings: EndpointSettings,
  alarmNames: readonly string[],
  deployTimeoutSeconds: number,
): DeploymentConfig {
  const trafficRouting =
    settings.trafficShifting === "canary"
      ? {
          Type: "CANARY" as const,
          CanarySize: { Type: "CAPACITY_PERCENT" as const, Value: settings.stepPercent },
          WaitIntervalInSeconds: settings.bakingPeriodSeconds,
        }
      : settings.trafficShifting === "linear"
        ? {
            Type: "LINEAR" as const,
            LinearStepSize: { Type: "CAPACITY_PERCENT" as const, Value: settings.stepPercent },
            WaitIntervalInSeconds: settings.bakingPeriodSeconds,
          }
        : { Type: "ALL_AT_ONCE" as const, WaitIntervalInSeconds: settings.bakingPeriodSeconds };
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: trafficRouting,
      TerminationWaitInSeconds: settings.terminationWaitSeconds,
      MaximumExecutionTimeoutInSeconds: maximumExecutionTimeout(deployTimeoutSeconds),
    },
    ...(alarmNames.length > 0
      ? { AutoRollbackConfiguration: { Alarms: alarmNames.map((AlarmName) => ({ AlarmName })) } }
      : {}),
  };
}

/** SageMaker accepts 600–28,800 s; a minute is left for the last status check. */
export function maximumExecutionTimeout(deployTimeoutSeconds: number): number {
  return Math.min(28_800, Math.max(600, Math.floor(deployTimeoutSeconds) - 60));
}

/** Going back is urgent and must not be vetoed by the alarms that may be firing: all at once, no bake. */
export const ROLLBACK_DEPLOYMENT_CONFIG: DeploymentConfig = {
  BlueGreenUpdatePolicy: {
    TrafficRoutingConfiguration: { Type: "ALL_AT_ONCE", WaitIntervalInSeconds: 0 },
    TerminationWaitInSeconds: 0,
  },
};

/** The least time the pipeline must give SageMaker for one update, for config checks at synth time. */
export function minimumDeployTimeoutSeconds(settings: EndpointSettings): number {
  const steps = settings.trafficShifting === "linear" ? Math.ceil(100 / settings.stepPercent) : 2;
  return steps * settings.bakingPeriodSeconds + settings.terminationWaitSeconds + 600;
}

export const AlarmNamesSchema = z.array(z.string().min(1).max(255)).max(10);

export function parseAlarmNames(json: string, source = "PMS_ROLLBACK_ALARM_NAMES"): string[] {
  try {
    return AlarmNamesSchema.parse(JSON.parse(json));
  } catch (error) {
    throw new InvalidEndpointSettingsError(
      `${source} must be a JSON list of at most 10 CloudWatch alarm names, e.g. ["pms-endpoint-5xx"]`,
      { cause: error },
    );
  }
}

export function parseResourceTags(json: string, source = "PMS_RESOURCE_TAGS"): Record<string, string> {
  try {
    return z.record(z.string().min(1).max(128), z.string().max(256)).parse(JSON.parse(json));
  } catch (error) {
    throw new InvalidEndpointSettingsError(`${source} must be a JSON object of tag names to strings`, {
      cause: error,
    });
  }
}

export function parsePositiveInteger(value: string, source: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new InvalidEndpointSettingsError(`${source} must be a positive whole number, got "${value}"`);
  }
  return parsed;
}
