import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ArtifactBucket } from "../../../lib/constructs/artifact-bucket.ts";
import { SnowflakeUnloadRole } from "../../../lib/constructs/snowflake-unload-role.ts";
import { cdkJsonContext } from "../synth-app.ts";

describe("SnowflakeUnloadRole", () => {
  it("trusts only Snowflake's IAM user with the integration's external id, and writes only runs/", () => {
    // Prepare
    const stack = new Stack(new App({ context: cdkJsonContext(), builtinCloudFormationValidation: false }), "Test");
    const artifacts = new ArtifactBucket(stack, "Artifacts");

    // Act
    new SnowflakeUnloadRole(stack, "Unload", {
      artifacts,
      namePrefix: "pms",
      storageIntegration: {
        iamUserArn: "arn:aws:iam::123456789012:user/abc1-s-v2st0000",
        externalId: "MYORG_SFCRole=2_abc=",
      },
    });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::IAM::Role", {
      RoleName: "pms-snowflake-unload",
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: "sts:AssumeRole",
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::123456789012:user/abc1-s-v2st0000" },
            Condition: { StringEquals: { "sts:ExternalId": "MYORG_SFCRole=2_abc=" } },
          },
        ],
      },
    });
    const policy = JSON.stringify(template.findResources("AWS::IAM::Policy"));
    expect(policy).toContain("s3:PutObject");
    expect(policy).toContain('"/runs/*"');
    expect(policy).not.toMatch(/"s3:\*"/);
  });
});
