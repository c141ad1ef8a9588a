import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { RunDefaultsSchema } from "../../core/pipeline/run-context.ts";
import {
  DeployConfigError,
  EXAMPLE_CONFIG,
  loadDeployConfig,
  loadDeployConfigFromCdkJson,
  parseDeployConfig,
  runDefaultsFrom,
} from "../../lib/config.ts";
import { cdkJsonContext } from "./synth-app.ts";

/** The problems a configuration fails with, one line each. */
function problemsOf(context: Record<string, unknown>): string[] {
  try {
    loadDeployConfig(context);
  } catch (error) {
    if (error instanceof DeployConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("the configuration was accepted");
}

describe("the deploy configuration", () => {
  it("accepts cdk.json's defaults and fills what they leave out", () => {
    // Act
    const config = loadDeployConfigFromCdkJson();

    // Assess
    expect(config.namePrefix).toBe("pms");
    expect(config.schedule).toEqual({ cron: "0 3 * * ? *", timezone: "UTC", enabled: true });
    expect(config.batch).toMatchObject({
      instanceTypes: ["g4dn.xlarge"],
      purchase: "spot-with-on-demand-fallback",
      jobGpus: 1,
      attempts: 3,
    });
    expect(config.sagemaker.endpointName).toBe("pms-recommender");
    expect(config.sagemaker.modelPackageGroupName).toBe("pms-recommender");
    expect(config.sagemaker.alarms).toEqual({ modelLatencyP99Ms: 500, invocation5xxErrorsPerMinute: 1 });
    expect(config.vpc).toEqual({ maxAzs: 2, endpointAzs: 1 });
    expect(config.notificationEmails).toEqual([]);
  });

  it("accepts the documented example, whose every value is realistic", () => {
    const config = parseDeployConfig(EXAMPLE_CONFIG);
    expect(config.sagemaker.endpoint).toMatchObject({ type: "instance", instanceCount: 2, trafficShifting: "canary" });
    expect(config.vpc.existing?.subnetIds).toHaveLength(2);
  });

  it("applies -c pms.<path>=<value> overrides over cdk.json, typed by JSON", () => {
    // Prepare: what `cdk synth -c pms.batch.maxVcpus=64 -c ...` puts in the context.
    const context = {
      ...cdkJsonContext(),
      "pms.batch.maxVcpus": "64",
      "pms.schedule.enabled": "false",
      "pms.schedule.timezone": "Europe/Paris",
      "pms.notificationEmails": '["ml-team@example.com"]',
      "pms.snowflake.account": "xy12345.eu-west-1",
      "pms.dbtCloud.apiBaseUrl": "https://emea.dbt.com/",
    };

    // Act
    const config = loadDeployConfig(new App({ context }));

    // Assess
    expect(config.batch.maxVcpus).toBe(64);
    expect(config.schedule).toEqual({ cron: "0 3 * * ? *", timezone: "Europe/Paris", enabled: false });
    expect(config.notificationEmails).toEqual(["ml-team@example.com"]);
    expect(config.snowflake.account).toBe("xy12345.eu-west-1");
    expect(config.dbtCloud.apiBaseUrl).toBe("https://emea.dbt.com");
  });

  it("derives SageMaker names from the prefix unless set", () => {
    const config = loadDeployConfig({ ...cdkJsonContext(), "pms.namePrefix": "recs" });
    expect(config.sagemaker.endpointName).toBe("recs-recommender");
    expect(config.sagemaker.modelPackageGroupName).toBe("recs-recommender");
  });

  it("fails with a message naming the key and showing a valid example", () => {
    // Act
    const failure = (() => {
      try {
        loadDeployConfig(new App({ context: { ...cdkJsonContext(), "pms.dbtCloud.accountId": "0" } }));
      } catch (error) {
        return error as Error;
      }
    })();

    // Assess
    expect(failure).toBeInstanceOf(DeployConfigError);
    expect(failure?.message).toContain('cdk.json context "pms"');
    expect(failure?.message).toMatch(/pms\.dbtCloud\.accountId: .*>=1.*\(example: 12345\)/);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      ...cdkJsonContext(),
      "pms.schedule.timezone": "Mars/Olympus",
      "pms.batch.instanceTypes": '["m5.large"]',
      "pms.runDefaults.gate": '["hr@20 >> 0.5"]',
      "pms.notificationEmails": '["not-an-address"]',
      "pms.namePrefix": "PMS",
    });
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pms\.schedule\.timezone: must be an IANA time zone .*\(example: "Europe\/Paris"\)$/),
        expect.stringMatching(
          /^pms\.batch\.instanceTypes\.0: must be a GPU instance type .*\(example: "g4dn.xlarge"\)$/,
        ),
        expect.stringMatching(/^pms\.runDefaults\.gate\.0: gate check "hr@20 >> 0\.5": not a check/),
        expect.stringMatching(/^pms\.notificationEmails\.0: must be an e-mail address/),
        expect.stringMatching(/^pms\.namePrefix: must be lower-case .*\(example: "pms"\)$/),
      ]),
    );
  });

  it("names a misspelt key and lists the keys its object accepts", () => {
    const [problem] = problemsOf({ ...cdkJsonContext(), "pms.batch.maxVcpu": "32" });
    expect(problem).toMatch(/^pms\.batch: unknown key\(s\) maxVcpu; known keys: .*maxVcpus/);
  });

  it("requires the account-specific settings cdk.json carries placeholders for", () => {
    const problems = problemsOf({ pms: {} });
    for (const key of ["pms.dbtCloud", "pms.snowflake", "pms.runDefaults"]) {
      expect(problems.some((problem) => problem.startsWith(`${key}:`))).toBe(true);
    }
  });

  it("rejects a cron EventBridge Scheduler would reject", () => {
    expect(problemsOf({ ...cdkJsonContext(), "pms.schedule.cron": "0 3 * * *" })[0]).toMatch(
      /^pms\.schedule\.cron: must be six cron fields/,
    );
    expect(problemsOf({ ...cdkJsonContext(), "pms.schedule.cron": "0 3 * * MON *" })[0]).toMatch(
      /exactly one of day-of-month and day-of-week must be \?/,
    );
    expect(
      loadDeployConfig({ ...cdkJsonContext(), "pms.schedule.cron": "cron(30 2 ? * MON-FRI *)" }).schedule.cron,
    ).toBe("30 2 ? * MON-FRI *");
  });

  it("checks endpoint settings with start-deployment's own schema, and the deploy timeout against them", () => {
    const canaryOnOneInstance = problemsOf({
      ...cdkJsonContext(),
      "pms.sagemaker.endpoint":
        '{"type":"instance","instanceType":"ml.m5.large","instanceCount":1,"trafficShifting":"canary"}',
    });
    expect(canaryOnOneInstance[0]).toMatch(
      /^pms\.sagemaker\.endpoint\.instanceCount: canary traffic shifting needs at least 2/,
    );

    const tooShort = problemsOf({
      ...cdkJsonContext(),
      "pms.sagemaker.deployTimeoutMinutes": "15",
      "pms.sagemaker.endpoint.bakingPeriodSeconds": "1800",
    });
    expect(tooShort[0]).toMatch(/^pms\.sagemaker\.deployTimeoutMinutes: too short .* at least 70 minutes/);
  });

  it("rejects an endpoint name too long for IAM to scope its per-run models by prefix", () => {
    const [problem] = problemsOf({ ...cdkJsonContext(), "pms.sagemaker.endpointName": "a".repeat(39) });
    expect(problem).toMatch(/^pms\.sagemaker\.endpointName: .*at most 38 characters/);
  });

  it("turns the run defaults into what PrepareRun reads, rooted where the runs live", () => {
    const defaults = runDefaultsFrom(loadDeployConfigFromCdkJson(), "s3://pms-artifacts");
    expect(RunDefaultsSchema.parse(defaults)).toEqual(defaults);
    expect(defaults).toMatchObject({ artifactRoot: "s3://pms-artifacts", lookbackDays: 7, deploy: "auto" });
  });
});
