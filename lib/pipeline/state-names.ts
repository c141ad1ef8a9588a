/**
 * Every state name of the pipeline state machine. The names read as sentences because they are what
 * an operator sees in the console graph and in failure notifications; tests and the local twin refer
 * to states only through these constants.
 */
export const STATE_NAMES = {
  prepareRun: "Prepare the run",
  startDbtRun: "Start the dbt run",
  waitForDbtRun: "Wait for the dbt run",
  checkDbtRun: "Check the dbt run",
  isDbtRunFinished: "Is the dbt run finished?",
  cancelDbtRun: "Cancel the dbt run",
  startExtract: "Start the extract",
  waitForExtract: "Wait for the extract",
  checkExtract: "Check the extract",
  isExtractFinished: "Is the extract finished?",
  train: "Train the evaluated and the served model",
  trainEvaluated: "Train the evaluated model on a GPU",
  trainServed: "Train the served model on a GPU",
  evaluate: "Evaluate the model",
  checkServedModel: "Check the served model against the evaluated one",
  registerModel: "Register the model version",
  shouldDeploy: "Should the model be deployed?",
  startDeployment: "Start the deployment",
  waitForEndpoint: "Wait for the endpoint",
  checkEndpoint: "Check the endpoint",
  isEndpointInService: "Is the endpoint in service?",
  smokeTest: "Smoke test the endpoint",
  didSmokeTestPass: "Did the smoke test pass?",
  rollBackEndpoint: "Roll back the endpoint",
  cleanUpDeployments: "Clean up old deployments",

  // Pass states that write a readable `{Error, Cause}` to `$.error` for the Fail state after them.
  describeDbtRunFailure: "Describe why the dbt run failed",
  describeDbtRunTimeout: "Describe the dbt run timeout",
  describeEvaluatedTrainingFailure: "Describe why the evaluated training failed",
  describeEvaluatedTrainingTimeout: "Describe the evaluated training timeout",
  describeServedTrainingFailure: "Describe why the served training failed",
  describeServedTrainingTimeout: "Describe the served training timeout",
  describeGateRejection: "Describe why the gate rejected the model",
  describeDeploymentFailure: "Describe why the deployment failed",
  describeSmokeTestFailure: "Describe why the smoke test failed",

  // Terminal states.
  modelIsServing: "The new model is serving",
  deploymentSkipped: "Finish without deploying",
  inputIsInvalid: "The execution input is invalid",
  dbtRunFailed: "The dbt run failed",
  dbtRunTimedOut: "The dbt run timed out",
  extractFailed: "The extract failed",
  notEnoughData: "There is not enough data",
  trainingFailed: "Training failed",
  evaluatedTrainingFailed: "The evaluated model's training failed",
  servedTrainingFailed: "The served model's training failed",
  evaluationFailed: "Evaluation failed",
  servedModelRejected: "The served model is worse than the evaluated one",
  registrationFailed: "Registration failed",
  gateRejectedModel: "The model failed the quality gate",
  deploymentFailed: "The deployment failed",
  smokeTestFailed: "The smoke test failed",
  rollbackFailed: "The smoke test failed and the rollback failed",
  cleanUpFailed: "Clean-up failed",
} as const;

export type StateName = (typeof STATE_NAMES)[keyof typeof STATE_NAMES];
