import { ArnFormat, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { IConstruct } from "constructs";
import { acknowledgeNag, nagResourceFinding } from "../nag.ts";

/** The state JSON resource of a Batch task run with the "Run a Job (.sync)" pattern. */
const SUBMIT_JOB_SYNC = /:states:::batch:submitJob\.sync("|$)/;

/** Every `BatchSubmitJob` under `scope` whose state waits for the job (`.sync`), wherever it sits (Parallel branches too). */
export function batchRunJobTasks(scope: IConstruct): tasks.BatchSubmitJob[] {
  const stack = Stack.of(scope);
  return scope.node.findAll().filter((construct): construct is tasks.BatchSubmitJob => {
    if (!(construct instanceof tasks.BatchSubmitJob)) return false;
    const resource: unknown = stack.resolve((construct.toStateJson() as { Resource?: unknown }).Resource);
    return SUBMIT_JOB_SYNC.test(typeof resource === "string" ? resource : JSON.stringify(resource));
  });
}

/**
 * Lets the state machine watch and stop the Batch jobs its `.sync` tasks submit. The CDK's
 * BatchSubmitJob grants only `batch:SubmitJob` and the EventBridge managed rule, but Step Functions'
 * "IAM policies for AWS Batch" page (docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html)
 * lists `batch:DescribeJobs` and `batch:TerminateJob` for Run a Job (.sync): without TerminateJob, a
 * timed-out or aborted execution leaves the GPU job running. Applied once for every such task found
 * under `definitionScope`, so a task added later (a Parallel branch) is covered without naming it.
 *
 * @returns how many tasks were found (0: nothing granted)
 */
export function grantBatchJobControl(stateMachine: sfn.StateMachine, definitionScope: IConstruct): number {
  const found = batchRunJobTasks(definitionScope);
  if (found.length === 0) return 0;
  const stack = Stack.of(stateMachine);
  // Job ids are made at run time; TerminateJob takes job ARNs, DescribeJobs has no resource-level permissions.
  const jobs = stack.formatArn({
    service: "batch",
    resource: "job",
    resourceName: "*",
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["batch:DescribeJobs"], resources: ["*"] }));
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["batch:TerminateJob"], resources: [jobs] }));
  acknowledgeNag(
    stateMachine.role,
    "AwsSolutions-IAM5",
    "Run a Job (.sync) stops the job it submitted on timeout or abort: batch:TerminateJob on this account's jobs in this region (job ids exist only at run time; Step Functions' own example grants Resource *).",
    [nagResourceFinding(stateMachine, jobs)],
  );
  return found.length;
}
