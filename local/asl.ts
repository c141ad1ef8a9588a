import { App, type Stack } from "aws-cdk-lib";

/**
 * Turns the state machine CloudFormation deploys into a plain Amazon States Language object that
 * aws-local-stepfunctions can run, so the local twin and the tests execute the very definition the
 * cloud gets. CDK writes `DefinitionString` as an `Fn::Join` whose parts reference other resources;
 * no library resolves CloudFormation intrinsics offline, so the few forms CDK emits here are resolved
 * by hand to placeholder ARNs that name the logical resource (a local run overrides every Task anyway).
 */

export type AslDefinition = {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
  readonly TimeoutSeconds?: number;
  readonly Comment?: string;
  readonly [field: string]: unknown;
};

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

export const PLACEHOLDER_ACCOUNT = "000000000000";
export const PLACEHOLDER_REGION = "local";

const PSEUDO_PARAMETERS: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": PLACEHOLDER_REGION,
  "AWS::AccountId": PLACEHOLDER_ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::StackName": "local",
};

/** A placeholder ARN for a resource of the template, in the shape its service uses. */
export function placeholderArn(resourceType: string, logicalId: string): string {
  const prefix = `arn:aws:%s:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}`;
  const arn = (service: string, resource: string) => `${prefix.replace("%s", service)}:${resource}`;
  switch (resourceType) {
    case "AWS::Lambda::Function":
      return arn("lambda", `function:${logicalId}`);
    case "AWS::Batch::JobQueue":
      return arn("batch", `job-queue/${logicalId}`);
    case "AWS::Batch::JobDefinition":
      return arn("batch", `job-definition/${logicalId}:1`);
    case "AWS::SNS::Topic":
      return arn("sns", logicalId);
    case "AWS::S3::Bucket":
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    default: {
      const [, service = "unknown", type = "resource"] = resourceType.split("::");
      return arn(service.toLowerCase(), `${type.toLowerCase()}/${logicalId}`);
    }
  }
}

function resolve(value: unknown, resources: Record<string, CfnResource>, where: string): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    const intrinsic = value as Record<string, unknown>;
    if (typeof intrinsic.Ref === "string") {
      const pseudo = PSEUDO_PARAMETERS[intrinsic.Ref];
      if (pseudo !== undefined) return pseudo;
      const resource = resources[intrinsic.Ref];
      if (resource === undefined) throw new Error(`${where}: Ref to unknown resource ${intrinsic.Ref}`);
      // Ref returns the ARN for the resource types a state machine references (functions by name, but CDK uses GetAtt Arn for those).
      return resource.Type === "AWS::Lambda::Function" ? intrinsic.Ref : placeholderArn(resource.Type, intrinsic.Ref);
    }
    const getAtt = intrinsic["Fn::GetAtt"];
    if (Array.isArray(getAtt) && typeof getAtt[0] === "string") {
      const resource = resources[getAtt[0]];
      if (resource === undefined) throw new Error(`${where}: Fn::GetAtt of unknown resource ${getAtt[0]}`);
      // Most resources call their ARN attribute `Arn`; some name it after the type (`JobQueueArn`).
      if (typeof getAtt[1] !== "string" || !/^(?:[A-Za-z]+)?Arn$/.test(getAtt[1]))
        throw new Error(`${where}: Fn::GetAtt ${getAtt[0]}.${String(getAtt[1])} cannot be resolved offline`);
      return placeholderArn(resource.Type, getAtt[0]);
    }
    const join = intrinsic["Fn::Join"];
    if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
      return join[1].map((part) => resolve(part, resources, where)).join(join[0]);
    }
  }
  throw new Error(
    `${where}: cannot resolve ${JSON.stringify(value)} offline (only Ref, Fn::GetAtt of an ARN attribute and Fn::Join)`,
  );
}

/**
 * The ASL of a state machine in a synthesized template. With several state machines in the template,
 * pass the logical id (or a prefix of it, as CDK appends a hash).
 */
export function definitionFromTemplate(template: CfnTemplate, logicalIdPrefix?: string): AslDefinition {
  const resources = template.Resources ?? {};
  const machines = Object.entries(resources).filter(
    ([logicalId, resource]) =>
      resource.Type === "AWS::StepFunctions::StateMachine" &&
      (logicalIdPrefix === undefined || logicalId.startsWith(logicalIdPrefix)),
  );
  const [match, ...others] = machines;
  if (match === undefined || others.length > 0) {
    const found = machines.map(([logicalId]) => logicalId).join(", ") || "none";
    throw new Error(
      `Expected exactly one AWS::StepFunctions::StateMachine${logicalIdPrefix === undefined ? "" : ` whose logical id starts with ${logicalIdPrefix}`}, found: ${found}`,
    );
  }
  const [logicalId, machine] = match;
  const properties = machine.Properties ?? {};
  if (properties.DefinitionS3Location !== undefined)
    throw new Error(`${logicalId}: DefinitionS3Location is not supported; synthesize the definition inline`);
  const definition = properties.DefinitionString ?? properties.Definition;
  if (definition === undefined) throw new Error(`${logicalId}: the state machine has no DefinitionString`);
  const asl: unknown =
    definition !== null && typeof definition === "object" && !("Fn::Join" in definition) && !("Ref" in definition)
      ? definition
      : JSON.parse(resolve(definition, resources, logicalId));
  if (asl === null || typeof asl !== "object" || !("StartAt" in asl) || !("States" in asl))
    throw new Error(`${logicalId}: the definition is not an Amazon States Language object`);
  return asl as AslDefinition;
}

/** Synthesizes the stack's app and returns the ASL of the (only, or prefix-matched) state machine in the stack. */
export function definitionFromStack(stack: Stack, logicalIdPrefix?: string): AslDefinition {
  const app = stack.node.root;
  if (!(app instanceof App)) throw new Error("definitionFromStack: the stack must belong to a cdk App");
  const template = app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  return definitionFromTemplate(template, logicalIdPrefix);
}
