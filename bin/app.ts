import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadDeployConfig } from "../lib/config.ts";
import { PipelineStack } from "../lib/pipeline-stack.ts";

const app = new App();
const config = loadDeployConfig(app);
new PipelineStack(app, "PostModernStack", {
  stackName: `${config.namePrefix}-pipeline`,
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
