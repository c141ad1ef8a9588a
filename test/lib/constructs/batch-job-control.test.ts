import { App, Duration, Size, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as batch from "aws-cdk-lib/aws-batch";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { batchRunJobTasks, grantBatchJobControl } from "../../../lib/constructs/batch-job-control.ts";

type Statement = { Action: string | string[]; Resource: unknown };

/** A definition with a .sync Batch task, one in a Parallel branch, and a fire-and-forget one. */
function stackWithBatchTasks(pattern: sfn.IntegrationPattern) {
  const app = new App();
  const stack = new Stack(app, "BatchJobControl", { env: { account: "123456789012", region: "eu-west-1" } });
  const definitionScope = new Construct(stack, "Definition");
  const jobDefinition = new batch.EcsJobDefinition(stack, "JobDefinition", {
    container: new batch.EcsEc2ContainerDefinition(stack, "Container", {
      image: ecs.ContainerImage.fromRegistry("public.ecr.aws/docker/library/busybox"),
      cpu: 1,
      memory: Size.mebibytes(512),
    }),
  });
  const submit = (id: string, integrationPattern: sfn.IntegrationPattern) =>
    new tasks.BatchSubmitJob(definitionScope, id, {
      jobName: id,
      jobQueueArn: "arn:aws:batch:eu-west-1:123456789012:job-queue/q",
      jobDefinitionArn: jobDefinition.jobDefinitionArn,
      integrationPattern,
    });
  const parallel = new sfn.Parallel(definitionScope, "Train both")
    .branch(submit("Train the model", pattern))
    .branch(submit("Refit on all data", pattern));
  const definition = submit("Warm the cache", sfn.IntegrationPattern.REQUEST_RESPONSE).next(parallel);
  const stateMachine = new sfn.StateMachine(stack, "StateMachine", {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout: Duration.hours(1),
  });
  return { stack, stateMachine, definitionScope };
}

function roleStatements(stack: Stack): Statement[] {
  const policies = Template.fromStack(stack).findResources("AWS::IAM::Policy");
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

describe("grantBatchJobControl", () => {
  it("finds every .sync Batch task, Parallel branches included, and grants DescribeJobs and TerminateJob", () => {
    // Prepare
    const { stack, stateMachine, definitionScope } = stackWithBatchTasks(sfn.IntegrationPattern.RUN_JOB);

    // Act
    const found = grantBatchJobControl(stateMachine, definitionScope);

    // Assess
    expect(found).toBe(2);
    expect(
      batchRunJobTasks(definitionScope)
        .map((task) => task.node.id)
        .sort(),
    ).toEqual(["Refit on all data", "Train the model"]);
    const statements = roleStatements(stack);
    expect(statements).toContainEqual(expect.objectContaining({ Action: "batch:DescribeJobs", Resource: "*" }));
    const terminate = statements.find((statement) => statement.Action === "batch:TerminateJob");
    expect(JSON.stringify(terminate?.Resource)).toContain(":batch:eu-west-1:123456789012:job/*");
  });

  it("grants nothing when no task waits for its job", () => {
    // Prepare
    const { stack, stateMachine, definitionScope } = stackWithBatchTasks(sfn.IntegrationPattern.REQUEST_RESPONSE);

    // Act
    const found = grantBatchJobControl(stateMachine, definitionScope);

    // Assess
    expect(found).toBe(0);
    const granted = roleStatements(stack).flatMap((statement) => [statement.Action].flat());
    expect(granted).not.toContain("batch:TerminateJob");
    expect(granted).not.toContain("batch:DescribeJobs");
  });
});
