import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { describe, expect, it } from "vitest";
import { PipelineNotifications } from "../../../lib/constructs/pipeline-notifications.ts";
import { functionEntriesForTemplateTests } from "../synth-app.ts";

describe("PipelineNotifications", () => {
  it("subscribes every configured address, and lets CloudWatch use the topic's key for alarm actions", () => {
    // Prepare
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, "Test");
    const stateMachine = new sfn.StateMachine(stack, "Machine", {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, "Pass")),
    });

    // Act
    new PipelineNotifications(stack, "Notifications", {
      stateMachine,
      namePrefix: "pms",
      emails: ["ml-team@example.com", "on-call@example.com"],
      logRetention: logs.RetentionDays.ONE_MONTH,
      notifyEntry: functionEntriesForTemplateTests().notify,
    });

    // Assess
    const template = Template.fromStack(stack);
    const endpoints = Object.values(template.findResources("AWS::SNS::Subscription")).map((subscription) => [
      subscription.Properties.Protocol,
      subscription.Properties.Endpoint,
    ]);
    expect(endpoints).toEqual([
      ["email", "ml-team@example.com"],
      ["email", "on-call@example.com"],
    ]);
    const keyPolicy = JSON.stringify(Object.values(template.findResources("AWS::KMS::Key"))[0]?.Properties.KeyPolicy);
    expect(keyPolicy).toContain('"Service":"cloudwatch.amazonaws.com"');
    expect(keyPolicy).toContain("kms:GenerateDataKey*");
  });
});
