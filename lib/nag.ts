import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges a cdk-nag rule on one construct (and what it contains). cdk-nag 3 acknowledges
 * each finding of a multi-finding rule separately (`AwsSolutions-IAM5[Resource::*]`), so a
 * wildcard is accepted only for the exact resources or actions listed in `findings`.
 */
export function acknowledgeNag(
  scope: IConstruct,
  rule: string,
  reason: string,
  findings: readonly string[] = [],
): void {
  const ids = findings.length === 0 ? [rule] : findings.map((finding) => `${rule}[${finding}]`);
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/**
 * The `Resource::…` finding cdk-nag reports for an ARN (a string with tokens): references become
 * `<LogicalId.Attribute>` and pseudo parameters `<AWS::Region>` — unless the stack's environment
 * makes them literal, which is why this is computed rather than written by hand.
 */
export function nagResourceFinding(scope: IConstruct, arn: string): string {
  const flatten = (value: unknown): string => {
    if (typeof value === "string") return value;
    if (value !== null && typeof value === "object") {
      const intrinsic = value as Record<string, unknown>;
      if (typeof intrinsic.Ref === "string") return `<${intrinsic.Ref}>`;
      const getAtt = intrinsic["Fn::GetAtt"];
      if (Array.isArray(getAtt)) return `<${getAtt.join(".")}>`;
      const join = intrinsic["Fn::Join"];
      if (Array.isArray(join)) return (join[1] as unknown[]).map(flatten).join(join[0] as string);
    }
    throw new Error(`cannot render ${JSON.stringify(value)} as a cdk-nag finding`);
  };
  return `Resource::${flatten(Stack.of(scope).resolve(arn))}`;
}
