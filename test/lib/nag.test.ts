import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { acknowledgeNag, wildcardResource } from "../../lib/nag.ts";

/** A role with X-Ray on `*` acknowledged by action, and whatever else a change adds on `*`. */
function roleWith(extraActionsOnWildcard: string[]) {
  const stack = new Stack(new App(), "Nag");
  const role = new iam.Role(stack, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }),
  );
  acknowledgeNag(role, "AwsSolutions-IAM5", "X-Ray has no resource-level permissions.", [
    wildcardResource("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
  ]);
  if (extraActionsOnWildcard.length > 0)
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: extraActionsOnWildcard, resources: ["*"] }));
  return stack;
}

const wildcardErrors = (stack: Stack) =>
  Annotations.fromStack(stack).findError("*", Match.stringLikeRegexp("AwsSolutions-IAM5: .* on Resource \\*"));

describe("an acknowledged Resource::* wildcard", () => {
  it("accepts the actions it names", () => {
    expect(wildcardErrors(roleWith([]))).toEqual([]);
  });

  it("fails the synth when another action on * joins the same role later, naming it", () => {
    // Act
    const errors = wildcardErrors(roleWith(["s3:*"]));

    // Assess
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.entry.data)).toMatch(/^AwsSolutions-IAM5: s3:\* on Resource \* is not among the actions/);
    expect(errors[0]?.id).toMatch(/\/Role\/DefaultPolicy\/Resource$/);
  });

  it("cannot be acknowledged as a bare finding, which would accept any action", () => {
    const stack = new Stack(new App(), "Bare");
    const role = new iam.Role(stack, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    expect(() => acknowledgeNag(role, "AwsSolutions-IAM5", "x", ["Resource::*"])).toThrow(/wildcardResource\(/);
  });
});
