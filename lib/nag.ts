import { Annotations, Aspects, type IAspect, Stack, Validations } from "aws-cdk-lib";
import { CfnManagedPolicy, CfnPolicy, CfnRole } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

/**
 * `Resource::*` for exactly these actions. cdk-nag 3 keys an IAM5 finding by resource only
 * (`AwsSolutions-IAM5[Resource::*]`, no per-action form), so acknowledging it would also accept any
 * action added later on `*` to the same role. Acknowledged through this, the actions are recorded
 * and `WildcardResourceActions` fails the synth for any other action on `*` under that construct.
 */
export interface WildcardResource {
  readonly wildcardResourceActions: readonly string[];
}

export function wildcardResource(...actions: string[]): WildcardResource {
  if (actions.length === 0) throw new Error("wildcardResource: name the actions that need Resource *");
  return { wildcardResourceActions: actions };
}

export type NagFinding = string | WildcardResource;

const WILDCARD_RESOURCE_FINDING = "Resource::*";
const allowedActions = new WeakMap<IConstruct, Set<string>>();
const checkedStacks = new WeakSet<Stack>();

/**
 * Acknowledges a cdk-nag rule on one construct (and what it contains). cdk-nag 3 acknowledges
 * each finding of a multi-finding rule separately (`AwsSolutions-IAM5[Action::s3:*]`), so a
 * wildcard is accepted only for the exact resources or actions listed in `findings`; `Resource::*`
 * only through `wildcardResource(...actions)`, so a new action on `*` still fails.
 */
export function acknowledgeNag(
  scope: IConstruct,
  rule: string,
  reason: string,
  findings: readonly NagFinding[] = [],
): void {
  const ids = findings.length === 0 ? [rule] : findings.map((finding) => `${rule}[${findingText(scope, finding)}]`);
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

function findingText(scope: IConstruct, finding: NagFinding): string {
  if (typeof finding !== "string") {
    allowWildcardActions(scope, finding.wildcardResourceActions);
    return WILDCARD_RESOURCE_FINDING;
  }
  if (finding === WILDCARD_RESOURCE_FINDING)
    throw new Error(
      `${scope.node.path}: acknowledge ${WILDCARD_RESOURCE_FINDING} with wildcardResource(...actions), naming the actions that need it`,
    );
  return finding;
}

/** Records the actions allowed on `*` under `scope`; the first call per stack adds the check. */
export function allowWildcardActions(scope: IConstruct, actions: readonly string[]): void {
  const allowed = allowedActions.get(scope) ?? new Set<string>();
  for (const action of actions) allowed.add(action.toLowerCase());
  allowedActions.set(scope, allowed);
  const stack = Stack.of(scope);
  if (!checkedStacks.has(stack)) {
    checkedStacks.add(stack);
    Aspects.of(stack).add(new WildcardResourceActions());
  }
}

interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: string | readonly string[];
  readonly Resource?: unknown;
}

/**
 * Fails the synth (an error annotation, which `cdk synth` and `cdk deploy` stop on) for an Allow
 * statement on `Resource: "*"` whose action was not named by a `wildcardResource(...)`
 * acknowledgement on the policy or one of its ancestors.
 */
export class WildcardResourceActions implements IAspect {
  visit(node: IConstruct): void {
    const documents = policyDocuments(node);
    if (documents.length === 0) return;
    const allowed = new Set<string>();
    let acknowledged = false;
    for (let scope: IConstruct | undefined = node; scope; scope = scope.node.scope) {
      const actions = allowedActions.get(scope);
      if (actions) {
        acknowledged = true;
        for (const action of actions) allowed.add(action);
      }
    }
    if (!acknowledged) return;
    const stack = Stack.of(node);
    for (const document of documents) {
      const resolved = stack.resolve(document) as { Statement?: readonly PolicyStatementJson[] } | undefined;
      for (const statement of resolved?.Statement ?? []) {
        if (statement.Effect !== "Allow" || !onWildcardResource(statement.Resource)) continue;
        const actions = typeof statement.Action === "string" ? [statement.Action] : (statement.Action ?? []);
        const extra = actions.filter((action) => !allowed.has(action.toLowerCase()));
        if (extra.length > 0)
          Annotations.of(node).addError(
            `AwsSolutions-IAM5: ${extra.join(", ")} on Resource * is not among the actions acknowledged with wildcardResource(...) here (${[...allowed].join(", ")}): scope it to resources, or acknowledge it by name.`,
          );
      }
    }
  }
}

function onWildcardResource(resource: unknown): boolean {
  return resource === "*" || (Array.isArray(resource) && resource.includes("*"));
}

function policyDocuments(node: IConstruct): unknown[] {
  if (node instanceof CfnPolicy || node instanceof CfnManagedPolicy) return [node.policyDocument];
  if (node instanceof CfnRole) {
    const policies = Stack.of(node).resolve(node.policies) as { PolicyDocument?: unknown }[] | undefined;
    return (policies ?? []).map((policy) => policy.PolicyDocument);
  }
  return [];
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
