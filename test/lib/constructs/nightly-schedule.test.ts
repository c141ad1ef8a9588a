import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { describe, it } from "vitest";
import { NightlySchedule } from "../../../lib/constructs/nightly-schedule.ts";

describe("NightlySchedule", () => {
  it("runs in the configured time zone and can be created disabled", () => {
    // Prepare
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), "Test");
    const stateMachine = new sfn.StateMachine(stack, "Machine", {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, "Pass")),
    });

    // Act
    new NightlySchedule(stack, "Nightly", {
      stateMachine,
      schedule: { cron: "30 2 ? * MON-FRI *", timezone: "Europe/Paris", enabled: false },
      namePrefix: "recs",
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::Scheduler::Schedule", {
      Name: "recs-nightly",
      ScheduleExpression: "cron(30 2 ? * MON-FRI *)",
      ScheduleExpressionTimezone: "Europe/Paris",
      State: "DISABLED",
    });
  });
});
