import type * as lambda from "aws-cdk-lib/aws-lambda";

/** The Lambda functions the pipeline state machine invokes, one per Task handler. */
export interface PipelineFunctions {
  readonly prepareRun: lambda.IFunction;
  readonly startDbtRun: lambda.IFunction;
  readonly checkDbtRun: lambda.IFunction;
  readonly cancelDbtRun: lambda.IFunction;
  readonly startExtract: lambda.IFunction;
  readonly checkExtract: lambda.IFunction;
  readonly evaluate: lambda.IFunction;
  readonly checkServedModel: lambda.IFunction;
  readonly registerModel: lambda.IFunction;
  readonly startDeployment: lambda.IFunction;
  readonly checkDeployment: lambda.IFunction;
  readonly smokeTest: lambda.IFunction;
  readonly rollBackDeployment: lambda.IFunction;
  readonly cleanUpDeployments: lambda.IFunction;
}
