import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { type DeployConfig, DeployConfigError, loadDeployConfig } from "../lib/config.ts";
import { PipelineStack } from "../lib/pipeline-stack.ts";

// CDK's built-in CloudFormation schema check costs ~6 s of CPU per synth; the template test
// (test/lib/pipeline-stack.test.ts) runs it, strictly, on every `npm test` instead.
const app = new App({ builtinCloudFormationValidation: false });

let config: DeployConfig;
try {
  config = loadDeployConfig(app);
} catch (error) {
  // The message lists every wrong key with an example; a stack trace would only bury it.
  if (!(error instanceof DeployConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

// Environment-agnostic: `cdk deploy` targets the account and region of the credentials in use.
new PipelineStack(app, "PostModernStack", { stackName: `${config.namePrefix}-pipeline`, config });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
