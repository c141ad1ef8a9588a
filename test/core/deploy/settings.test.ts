import { describe, expect, it } from "vitest";
import { deploymentResourceName, metadataValue } from "../../../core/deploy/names.ts";
import {
  blueGreenDeploymentConfig,
  maximumExecutionTimeout,
  parseAlarmNames,
  parseEndpointSettings,
} from "../../../core/deploy/settings.ts";

describe("endpoint settings", () => {
  it("fills the defaults of an instance endpoint", () => {
    // Act
    const settings = parseEndpointSettings('{"type":"instance","instanceType":"ml.m5.large"}');

    // Assess
    expect(settings).toEqual({
      type: "instance",
      instanceType: "ml.m5.large",
      instanceCount: 1,
      trafficShifting: "all-at-once",
      stepPercent: 50,
      bakingPeriodSeconds: 300,
      terminationWaitSeconds: 0,
    });
  });

  it("rejects a canary on a single instance, naming the field and the fix", () => {
    // Act / Assess
    expect(() =>
      parseEndpointSettings('{"type":"instance","instanceType":"ml.m5.large","trafficShifting":"canary"}'),
    ).toThrow(/instanceCount: canary traffic shifting needs at least 2 instances/);
  });

  it("rejects canary traffic shifting on a serverless endpoint", () => {
    // Act / Assess
    expect(() => parseEndpointSettings('{"type":"serverless","memorySizeMb":2048,"trafficShifting":"canary"}')).toThrow(
      /trafficShifting: serverless endpoints shift traffic all at once/,
    );
  });

  it("rejects an unsupported serverless memory size and unknown fields", () => {
    // Act / Assess
    expect(() => parseEndpointSettings('{"type":"serverless","memorySizeMb":1500}')).toThrow(
      /memorySizeMb: must be 1024, 2048/,
    );
    expect(() => parseEndpointSettings('{"type":"instance","instanceType":"ml.m5.large","instances":2}')).toThrow(
      /instances/,
    );
    expect(() => parseEndpointSettings("{type:instance}")).toThrow(/PMS_ENDPOINT_SETTINGS is not valid JSON/);
  });

  it("builds linear traffic shifting and leaves the rollback alarms out when none are configured", () => {
    // Prepare
    const settings = parseEndpointSettings(
      '{"type":"instance","instanceType":"ml.m5.large","instanceCount":4,"trafficShifting":"linear","stepPercent":25,"bakingPeriodSeconds":60}',
    );

    // Act
    const config = blueGreenDeploymentConfig(settings, [], 900);

    // Assess
    expect(config).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: "LINEAR",
          LinearStepSize: { Type: "CAPACITY_PERCENT", Value: 25 },
          WaitIntervalInSeconds: 60,
        },
        TerminationWaitInSeconds: 0,
        MaximumExecutionTimeoutInSeconds: 840,
      },
    });
  });

  it("keeps SageMaker's update timeout inside its 600–28,800 s range", () => {
    expect(maximumExecutionTimeout(300)).toBe(600);
    expect(maximumExecutionTimeout(100_000)).toBe(28_800);
  });

  it("explains the expected shape of the alarm list", () => {
    expect(parseAlarmNames('["a","b"]')).toEqual(["a", "b"]);
    expect(() => parseAlarmNames('"a"')).toThrow(/JSON list of at most 10 CloudWatch alarm names/);
  });
});

describe("resource names", () => {
  it("keeps the run's shortId whole and the name within SageMaker's 63 characters", () => {
    // Act
    const name = deploymentResourceName(
      "a-very-long-endpoint-name-for-the-recommender-of-shop-42",
      "261126-020000-7f3a9c",
    );

    // Assess
    expect(name).toHaveLength(63);
    expect(name).toBe("a-very-long-endpoint-name-for-the-recommen-261126-020000-7f3a9c");
    expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  });

  it("never ends the endpoint part on a hyphen", () => {
    expect(
      deploymentResourceName("pms-endpoint-with-a-hyphen-exactly-at-the-cut-point-xx", "261126-020000-7f3a9c"),
    ).toBe("pms-endpoint-with-a-hyphen-exactly-at-the-261126-020000-7f3a9c");
  });

  it("drops the characters model package metadata refuses", () => {
    expect(metadataValue("hr@20 >= 0.5; (forced)")).toBe("hr@20 = 0.5 forced");
  });
});
