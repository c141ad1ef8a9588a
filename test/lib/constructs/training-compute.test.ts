import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { type DeployConfig, loadDeployConfig } from "../../../lib/config.ts";
import { ArtifactBucket } from "../../../lib/constructs/artifact-bucket.ts";
import { TrainingCompute } from "../../../lib/constructs/training-compute.ts";
import { projectPath } from "../../../lib/project-paths.ts";
import { cdkJsonContext } from "../synth-app.ts";

function trainingTemplate(overrides: Record<string, unknown>): Template {
  const app = new App({ context: cdkJsonContext(), builtinCloudFormationValidation: false });
  const config: DeployConfig = loadDeployConfig({ ...cdkJsonContext(), ...overrides });
  const stack = new Stack(app, "Test");
  new TrainingCompute(stack, "Training", {
    batch: config.batch,
    vpc: config.vpc,
    namePrefix: config.namePrefix,
    artifacts: new ArtifactBucket(stack, "Artifacts"),
    image: new ecrAssets.DockerImageAsset(stack, "Image", {
      directory: projectPath("test/lib/fixtures"),
      file: "training-image/Dockerfile",
      target: "train",
    }),
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  return Template.fromStack(stack);
}

const computeTypes = (template: Template) =>
  Object.values(template.findResources("AWS::Batch::ComputeEnvironment")).map(
    (ce) => (ce.Properties.ComputeResources as { Type: string }).Type,
  );

describe("TrainingCompute", () => {
  it("uses an existing VPC's subnets, creating no network of its own", () => {
    // Act
    const template = trainingTemplate({
      "pms.vpc.existing": '{"vpcId":"vpc-0a1b2c3d4e5f67890","subnetIds":["subnet-0a1b2c3d4e5f67890"]}',
    });

    // Assess
    template.resourceCountIs("AWS::EC2::VPC", 0);
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 0);
    template.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: "vpc-0a1b2c3d4e5f67890" });
    for (const ce of Object.values(template.findResources("AWS::Batch::ComputeEnvironment"))) {
      expect((ce.Properties.ComputeResources as { Subnets: unknown }).Subnets).toEqual(["subnet-0a1b2c3d4e5f67890"]);
    }
  });

  it("creates only the Spot environment when asked for Spot, and only on-demand when asked for on-demand", () => {
    expect(computeTypes(trainingTemplate({ "pms.batch.purchase": "spot" }))).toEqual(["SPOT"]);
    expect(computeTypes(trainingTemplate({ "pms.batch.purchase": "on-demand" }))).toEqual(["EC2"]);
  });

  it("sizes the job and its retries from the configuration", () => {
    const template = trainingTemplate({
      "pms.batch.instanceTypes": '["g5.2xlarge"]',
      "pms.batch.jobVcpus": "8",
      "pms.batch.jobMemoryMiB": "30000",
      "pms.batch.attempts": "5",
      "pms.batch.jobTimeoutMinutes": "45",
    });
    template.hasResourceProperties("AWS::Batch::JobDefinition", {
      ContainerProperties: {
        ResourceRequirements: [
          { Type: "MEMORY", Value: "30000" },
          { Type: "VCPU", Value: "8" },
          { Type: "GPU", Value: "1" },
        ],
      },
      RetryStrategy: { Attempts: 5 },
      Timeout: { AttemptDurationSeconds: 2700 },
    });
    template.hasResourceProperties("AWS::Batch::ComputeEnvironment", {
      ComputeResources: { InstanceTypes: ["g5.2xlarge"] },
    });
  });
});
