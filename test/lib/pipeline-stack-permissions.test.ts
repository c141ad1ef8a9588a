import { beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_ENTRIES } from "../../lib/constructs/pipeline-lambdas.ts";
import { type CfnTemplate, definitionFromTemplate } from "../../local/asl.ts";
import {
  INTEGRATION_PERMISSIONS,
  type PermissionRow,
  SAGEMAKER_EXECUTION_ROLE_PERMISSIONS,
  SDK_COMMAND_PERMISSIONS,
} from "./aws-permission-table.ts";
import { sdkCallsOf } from "./sdk-calls.ts";
import { logicalId, synthesizePipeline } from "./synth-app.ts";

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Resource = { Type: string; Properties: Record<string, unknown> };

let resources: Record<string, Resource>;
let stateMachineRole: string;
let sagemakerRole: string;
let template: CfnTemplate;

beforeAll(() => {
  const synthesized = synthesizePipeline();
  template = synthesized.template.toJSON() as CfnTemplate;
  resources = template.Resources as unknown as Record<string, Resource>;
  stateMachineRole = logicalId(synthesized.stack.pipeline.stateMachine.role);
  sagemakerRole = logicalId(synthesized.stack.serving.executionRole);
});

/** The statements of every inline policy attached to the role. */
function statementsOf(roleId: string): Statement[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === "AWS::IAM::Policy")
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

function roleOfFunction(functionName: string): string {
  const fn = Object.values(resources).find(
    (resource) => resource.Type === "AWS::Lambda::Function" && resource.Properties.FunctionName === functionName,
  );
  if (!fn) throw new Error(`no function ${functionName}`);
  return (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
}

/** IAM's action matching: `*` and `?` wildcards, case-insensitive. */
function actionMatches(granted: string, needed: string): boolean {
  const pattern = granted
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${pattern}$`, "i").test(needed);
}

/** What `row` needs and `statements` do not allow, one line per missing action and resource. */
function missingGrants(statements: readonly Statement[], row: PermissionRow, call: string): string[] {
  const missing: string[] = [];
  for (const grant of row.grants) {
    for (const action of grant.actions) {
      const allowed = statements.some(
        (statement) =>
          statement.Effect === "Allow" &&
          [statement.Action].flat().some((granted) => actionMatches(granted, action)) &&
          [statement.Resource].flat().some((resource) => grant.resource.test(JSON.stringify(resource))),
      );
      if (!allowed) missing.push(`${call}: ${action} on ${grant.resource} (${row.page})`);
    }
  }
  return missing;
}

const functionName = (key: string) => `pms-${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

describe("every AWS call of the pipeline has its documented permission in the synthesized stack", () => {
  it("grants each Lambda's role what each SDK command its code sends needs (action and resource)", async () => {
    // Prepare: the calls each function's code can make.
    const callsByFunction = await Promise.all(
      Object.entries(FUNCTION_ENTRIES).map(async ([key, entry]) => ({
        name: functionName(key),
        calls: [...(await sdkCallsOf(entry))].sort(),
      })),
    );

    // Act
    const problems = callsByFunction.flatMap(({ name, calls }) => {
      const statements = statementsOf(roleOfFunction(name));
      return calls.flatMap((call) => {
        const row = SDK_COMMAND_PERMISSIONS[call];
        if (!row) return [`${name}: ${call} has no row in test/lib/aws-permission-table.ts (add it with its page)`];
        return missingGrants(statements, row, call).map((line) => `${name}: ${line}`);
      });
    });

    // Assess: the scan found the calls, and every one is granted.
    const calls = Object.fromEntries(callsByFunction.map(({ name, calls }) => [name, calls]));
    expect(calls["pms-check-deployment"]).toEqual(["DescribeEndpoint"]);
    expect(calls["pms-register-model"]).toEqual(
      expect.arrayContaining(["CreateModelPackage", "CreateModelPackageGroup", "DescribeModelPackageGroup"]),
    );
    expect(calls["pms-start-dbt-run"]).toEqual(["getSecret"]);
    expect(calls["pms-clean-up-deployments"]).toEqual(expect.arrayContaining(["ListEndpointConfigs", "ListModels"]));
    expect(problems).toEqual([]);
  }, 60_000);

  it("grants the state machine's role every service integration its Task states use, Parallel branches included", () => {
    // Prepare: every Task state of the definition, wherever it sits.
    const definition = definitionFromTemplate(template);
    const taskResources: string[] = [];
    const visit = (states: Record<string, Record<string, unknown>>) => {
      for (const state of Object.values(states)) {
        if (state.Type === "Task") taskResources.push(String(state.Resource));
        for (const branch of (state.Branches as { States: Record<string, Record<string, unknown>> }[]) ?? [])
          visit(branch.States);
        const iterator = (state.ItemProcessor ?? state.Iterator) as
          | { States: Record<string, Record<string, unknown>> }
          | undefined;
        if (iterator) visit(iterator.States);
      }
    };
    visit(definition.States as Record<string, Record<string, unknown>>);
    const statements = statementsOf(stateMachineRole);

    // Act
    const problems = taskResources.flatMap((resource) => {
      const lambda = /:function:([A-Za-z0-9]+)$/.exec(resource);
      if (lambda) {
        const row = {
          ...INTEGRATION_PERMISSIONS.lambdaFunction,
          grants: [{ actions: ["lambda:InvokeFunction"], resource: new RegExp(`"${lambda[1]}"`) }],
        };
        return missingGrants(statements, row, `Lambda ${lambda[1]}`);
      }
      if (resource.endsWith(":states:::batch:submitJob.sync"))
        return missingGrants(statements, INTEGRATION_PERMISSIONS.batchSubmitJobSync, "batch:submitJob.sync");
      return [`${resource}: no row for this integration in test/lib/aws-permission-table.ts`];
    });

    // Assess
    expect(taskResources.length).toBeGreaterThan(13);
    expect(taskResources.some((resource) => resource.endsWith("batch:submitJob.sync"))).toBe(true);
    expect(problems).toEqual([]);
  });

  it("grants the endpoint's execution role what SageMaker needs of it during a guarded update", () => {
    expect(missingGrants(statementsOf(sagemakerRole), SAGEMAKER_EXECUTION_ROLE_PERMISSIONS, "auto-rollback")).toEqual(
      [],
    );
  });

  it("reports a call whose action is missing or granted on another resource", () => {
    // Prepare: start-deployment's role, asked for an action it lacks and for one on the wrong resource.
    const statements = statementsOf(roleOfFunction("pms-start-deployment"));
    const wrongResource: PermissionRow = {
      grants: [{ actions: ["sagemaker:CreateEndpoint"], resource: /:endpoint\/someone-else"/ }],
      page: "test",
    };

    // Act / Assess
    expect(missingGrants(statements, SDK_COMMAND_PERMISSIONS.CreateModel as PermissionRow, "CreateModel")).toEqual([]);
    expect(missingGrants(statements, SDK_COMMAND_PERMISSIONS.DeleteModel as PermissionRow, "DeleteModel")).toHaveLength(
      1,
    );
    expect(missingGrants(statements, wrongResource, "CreateEndpoint")).toHaveLength(1);
  });
});
