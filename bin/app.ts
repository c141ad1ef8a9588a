import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadDeployConfig } from "../lib/config.ts";
import { PipelineStack } from "../lib/pipeline-stack.ts";

// CDK's built-in CloudFormation schema check costs ~6 s of CPU per synth; the template test
// (test/lib/pipeline-stack.test.ts) runs it on every `npm test` instead.
const app = new App({ builtinCloudFormationValidation: false });
const config = loadDeployConfig(app);
new PipelineStack(app, "PostModernStack", {
  stackName: `${config.namePrefix}-pipeline`,
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
