import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as eventTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { acknowledgeNag, nagResourceFinding } from "../nag.ts";
import { PipelineFunction } from "./pipeline-function.ts";

/** The execution statuses that end a run, each worth a message. */
export const NOTIFIED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"] as const;

export interface PipelineNotificationsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly namePrefix: string;
  readonly emails: readonly string[];
  readonly logRetention: logs.RetentionDays;
  /** @default lambdas/notify/index.ts */
  readonly notifyEntry?: string;
}

/**
 * Tells people how each run ended: the state machine's status changes go through the notify
 * Lambda (which turns the event into a readable message: execution, failed stage, cause, console
 * link) to an encrypted SNS topic with e-mail subscriptions. PipelineMonitoring's alarms (failed,
 * timed-out and aborted executions among them) reach the same topic even if notify itself is broken.
 */
export class PipelineNotifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  readonly notify: PipelineFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: PipelineNotificationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, "Key", {
      description: "Encrypts the pipeline's notification topic",
      enableKeyRotation: true,
    });
    // CloudWatch alarm actions publish to the topic as the CloudWatch service, which needs the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, "Topic", {
      topicName: `${props.namePrefix}-pipeline-runs`,
      displayName: "post-modern-stack pipeline runs",
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    this.notify = new PipelineFunction(this, "Notify", {
      entry: props.notifyEntry ?? "lambdas/notify/index.ts",
      functionName: `${props.namePrefix}-notify`,
      description: "Turns a pipeline execution's final status into a readable message",
      environment: { PMS_TOPIC_ARN: this.topic.topicArn },
      logRetention: props.logRetention,
    });
    this.topic.grantPublish(this.notify);
    // Which stage failed and why is in the execution's history, not in the status-change event.
    const executions = stack.formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${props.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.notify.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["states:DescribeExecution", "states:GetExecutionHistory"],
        resources: [executions],
      }),
    );
    acknowledgeNag(
      this.notify.role as iam.Role,
      "AwsSolutions-IAM5",
      "The notify function publishes to the topic (kms:GenerateDataKey* on the topic's own key only) and reads the history of this state machine's executions (execution:<name>:*, execution names are only known at run time).",
      ["Action::kms:GenerateDataKey*", nagResourceFinding(this, executions)],
    );

    const deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNag(
      deadLetterQueue,
      "AwsSolutions-SQS3",
      "This queue is itself the dead-letter queue of the notification rule's target.",
    );
    this.rule = new events.Rule(this, "ExecutionFinished", {
      description: "A pipeline execution ended",
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: {
          status: [...NOTIFIED_STATUSES],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
      targets: [new eventTargets.LambdaFunction(this.notify, { deadLetterQueue, retryAttempts: 4 })],
    });
  }
}
