import { Validations } from "aws-cdk-lib";
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
