import { Duration, TimeZone } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { DeployConfig } from "../config.ts";
import { acknowledgeNag } from "../nag.ts";

export interface NightlyScheduleProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly schedule: DeployConfig["schedule"];
  readonly namePrefix: string;
}

/** The input of every scheduled execution: PrepareRun resolves the window and the rest from defaults. */
export const SCHEDULED_INPUT = { trigger: "schedule" } as const;

/**
 * Starts the pipeline every night (EventBridge Scheduler: cron in the configured time zone, so
 * "3 am" stays 3 am across daylight saving). Undeliverable starts land in an encrypted dead-letter
 * queue instead of vanishing.
 */
export class NightlySchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.Queue;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: NightlyScheduleProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNag(
      this.deadLetterQueue,
      "AwsSolutions-SQS3",
      "This queue is itself the dead-letter queue of the nightly schedule; a DLQ of a DLQ has nothing to add.",
    );
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com"),
      description: "EventBridge Scheduler: starts the pipeline state machine, and nothing else",
    });
    this.schedule = new scheduler.Schedule(this, "Schedule", {
      scheduleName: `${props.namePrefix}-nightly`,
      description: "Starts the pipeline with the configured run defaults",
      schedule: scheduler.ScheduleExpression.expression(
        `cron(${props.schedule.cron})`,
        TimeZone.of(props.schedule.timezone),
      ),
      enabled: props.schedule.enabled,
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        role: this.role,
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULED_INPUT),
        deadLetterQueue: this.deadLetterQueue,
        // A run started hours late would train on a shifted window and collide with the next night.
        maxEventAge: Duration.hours(2),
        retryAttempts: 10,
      }),
    });
  }
}
