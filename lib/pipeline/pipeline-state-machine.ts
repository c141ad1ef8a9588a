import { Aws, Duration, RemovalPolicy, Stack, Token, Validations } from "aws-cdk-lib";
import type * as batch from "aws-cdk-lib/aws-batch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { PIPELINE_ERRORS, STATE_KEYS } from "../../core/pipeline/contracts.ts";
import { grantBatchJobControl } from "../constructs/batch-job-control.ts";
import { acknowledgeNag, wildcardResource } from "../nag.ts";
import type { PipelineFunctions } from "./pipeline-functions.ts";
import { STATE_NAMES } from "./state-names.ts";
import {
  BATCH_TRANSIENT_ERRORS,
  ERROR_RESULT_PATH,
  LAMBDA_TASKS,
  LAMBDA_TIMEOUT_ERRORS,
  LAMBDA_TRANSIENT_ERRORS,
  type LambdaTaskSpec,
} from "./tasks.ts";

export interface PipelineStateMachineProps {
  readonly functions: PipelineFunctions;
  readonly trainingJob: {
    readonly jobQueue: batch.IJobQueue;
    readonly jobDefinition: batch.IJobDefinition;
    /**
     * How long "Train the model on a GPU" may take in total: queueing and all of Batch's attempts
     * (each attempt's own limit is the job definition's timeout).
     */
    readonly timeout: Duration;
  };
  /** How long each polling loop waits between two checks. */
  readonly polling: {
    readonly dbtRun: Duration;
    readonly extract: Duration;
    readonly endpoint: Duration;
  };
  /** Prefix of the state machine's, log group's and Batch jobs' names. */
  readonly namePrefix: string;
  readonly logRetention: logs.RetentionDays;
  /**
   * Timeout of one attempt of a Lambda Task: a backstop. The default sits above Lambda's 15-minute
   * maximum so each function's own timeout fires first, failing the Task as `Sandbox.Timedout` with
   * a cause rather than as a bare `States.Timeout`.
   * @default Duration.minutes(16)
   */
  readonly lambdaTaskTimeout?: Duration;
  /**
   * Whole-execution timeout: the backstop when a polling loop never ends.
   * @default trainingJob.timeout plus 24 hours for the other stages
   */
  readonly timeout?: Duration;
}

/** What the stages other than training may take together, on top of the training timeout. */
const EXECUTION_SLACK = Duration.hours(24);

/**
 * The nightly pipeline as a Step Functions state machine (JSONPath, so aws-local-stepfunctions runs
 * the very same definition in the local twin). Every Lambda Task passes the whole state as its
 * payload and lands its handler's return value at `$.<STATE_KEYS key>`; every failure path ends in
 * a Fail state whose Error is one of `PIPELINE_ERRORS` and whose Cause says what went wrong.
 */
export class PipelineStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;

  private readonly functions: PipelineFunctions;
  private readonly lambdaTaskTimeout: Duration;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    this.functions = props.functions;
    this.lambdaTaskTimeout = props.lambdaTaskTimeout ?? Duration.minutes(16);
    const timeout =
      props.timeout ?? Duration.seconds(props.trainingJob.timeout.toSeconds() + EXECUTION_SLACK.toSeconds());
    if (timeout.toSeconds() <= props.trainingJob.timeout.toSeconds()) {
      throw new Error(
        `PipelineStateMachine: timeout (${timeout.toHumanString()}) must be longer than trainingJob.timeout (${props.trainingJob.timeout.toHumanString()}); leave it unset for trainingJob.timeout + 24 hours.`,
      );
    }

    const definition = this.definition(props);

    const logKey = new kms.Key(this, "LogKey", {
      description: `${props.namePrefix} pipeline state machine logs`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch Logs encrypts with the key only when its regional service principal may use it.
    logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    this.logGroup = new logs.LogGroup(this, "Logs", {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small (AWS's advice for Step Functions).
      logGroupName: `/aws/vendedlogs/states/${props.namePrefix}-pipeline`,
      retention: props.logRetention,
      encryptionKey: logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new sfn.StateMachine(this, "Resource", {
      stateMachineName: `${props.namePrefix}-pipeline`,
      comment:
        "post-modern-stack: dbt → extract → GPU training (evaluated + served model) → evaluation gate → SageMaker deployment",
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: sfn.LogLevel.ALL,
        // Inputs and outputs can carry run details; keep them out of CloudWatch Logs.
        includeExecutionData: false,
      },
    });

    // The CDK's Batch integration grants SubmitJob and the EventBridge rule only; Step Functions also
    // describes a .sync job while it runs and terminates it on timeout or abort: every .sync Batch task
    // of the definition (both training jobs of the Parallel state).
    grantBatchJobControl(this.stateMachine, this);
    this.acknowledgeGeneratedWildcards();
  }

  /**
   * cdk-nag flags the wildcards the CDK's service integrations write into the state machine's role;
   * each is acknowledged by its exact finding, so any new wildcard still fails the check.
   */
  private acknowledgeGeneratedWildcards(): void {
    const stack = Stack.of(this);
    const nagResource = (arn: string): string => {
      const resolved: unknown = stack.resolve(arn);
      if (typeof resolved === "string") return resolved;
      const getAtt = (resolved as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
      if (getAtt === undefined)
        throw new Error(`PipelineStateMachine: cannot name ${JSON.stringify(resolved)} for cdk-nag`);
      return `<${getAtt[0]}.${getAtt[1]}>`;
    };
    const pseudo = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);
    const functionVersions = Object.values(this.functions).map((fn: lambda.IFunction) => ({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagResource(fn.functionArn)}:*]`,
      reason:
        "The CDK's Lambda integration grants lambda:InvokeFunction on the function and its versions/aliases (<arn>:*); the state machine invokes only the pipeline's own functions.",
    }));
    Validations.of(this.stateMachine.role).acknowledge(...functionVersions, {
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:${pseudo(stack.region, "Region")}:${pseudo(stack.account, "AccountId")}:job-definition/*]`,
      reason:
        "The CDK's Batch integration grants batch:SubmitJob on every revision of the account's job definitions (a job definition ARN carries its revision); SubmitJob is further limited to the pipeline's job queue.",
    });
    acknowledgeNag(
      this.stateMachine.role,
      "AwsSolutions-IAM5",
      "Actions without resource-level permissions: X-Ray tracing and CloudWatch Logs vended delivery, which the CDK grants for the state machine's tracing and logging, and batch:DescribeJobs, which the .sync Batch integration needs (granted by grantBatchJobControl, lib/constructs/batch-job-control.ts).",
      [
        wildcardResource(
          "xray:PutTraceSegments",
          "xray:PutTelemetryRecords",
          "xray:GetSamplingRules",
          "xray:GetSamplingTargets",
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
          "batch:DescribeJobs",
        ),
      ],
    );
  }

  private definition(props: PipelineStateMachineProps): sfn.IChainable {
    const names = STATE_NAMES;
    const fail = (name: string, error: string, causePath: string) => new sfn.Fail(this, name, { error, causePath });
    const failFromError = (name: string, error: string) => fail(name, error, `${ERROR_RESULT_PATH}.Cause`);

    // Fail states: each reads its Cause from `$.error.Cause` (the caught error, or a Describe… Pass).
    const inputIsInvalid = fail(names.inputIsInvalid, PIPELINE_ERRORS.invalidInput, "$.Cause");
    const dbtRunFailed = failFromError(names.dbtRunFailed, PIPELINE_ERRORS.dbtRunFailed);
    const dbtRunTimedOut = failFromError(names.dbtRunTimedOut, PIPELINE_ERRORS.dbtRunTimedOut);
    const extractFailed = failFromError(names.extractFailed, PIPELINE_ERRORS.extractFailed);
    const notEnoughData = failFromError(names.notEnoughData, PIPELINE_ERRORS.insufficientData);
    const trainingFailed = failFromError(names.trainingFailed, PIPELINE_ERRORS.trainingFailed);
    const evaluationFailed = failFromError(names.evaluationFailed, PIPELINE_ERRORS.evaluationFailed);
    const servedModelRejected = failFromError(names.servedModelRejected, PIPELINE_ERRORS.servedModelRejected);
    const registrationFailed = failFromError(names.registrationFailed, PIPELINE_ERRORS.registrationFailed);
    const gateRejectedModel = failFromError(names.gateRejectedModel, PIPELINE_ERRORS.qualityGateFailed);
    const deploymentFailed = failFromError(names.deploymentFailed, PIPELINE_ERRORS.deploymentFailed);
    const smokeTestFailed = failFromError(names.smokeTestFailed, PIPELINE_ERRORS.smokeTestFailed);
    const rollbackFailed = failFromError(names.rollbackFailed, PIPELINE_ERRORS.smokeTestFailed);
    const cleanUpFailed = failFromError(names.cleanUpFailed, PIPELINE_ERRORS.cleanUpFailed);

    // Prepare the run: the raw input plus the execution's identity (PrepareRunEvent); the state becomes `{run}`.
    const prepareRun = this.lambdaTask(LAMBDA_TASKS.prepareRun, {
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        execution: {
          name: sfn.JsonPath.stringAt("$$.Execution.Name"),
          id: sfn.JsonPath.stringAt("$$.Execution.Id"),
          startTime: sfn.JsonPath.stringAt("$$.Execution.StartTime"),
        },
      }),
      // No ResultPath: the default ("$") replaces the raw input with `{run}`. An explicit "$" would mean
      // the same in the cloud, but aws-local-stepfunctions would nest the result under a "$" key.
      resultSelector: { [STATE_KEYS.run]: sfn.JsonPath.entirePayload },
    });
    // The input may not even be an object, so the error replaces the state (default ResultPath) instead of landing in it.
    prepareRun.addCatch(inputIsInvalid);

    // Transform: trigger the dbt Cloud job and poll it until it ends or passes its deadline.
    const startDbtRun = this.lambdaTask(LAMBDA_TASKS.startDbtRun).addCatch(dbtRunFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const waitForDbtRun = new sfn.Wait(this, names.waitForDbtRun, {
      time: sfn.WaitTime.duration(props.polling.dbtRun),
    });
    const checkDbtRun = this.lambdaTask(LAMBDA_TASKS.checkDbtRun).addCatch(dbtRunFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const describeDbtRunFailure = this.describeFailure(
      names.describeDbtRunFailure,
      PIPELINE_ERRORS.dbtRunFailed,
      "The dbt Cloud run did not succeed: {}",
      "$.transform",
    );
    const describeDbtRunTimeout = this.describeFailure(
      names.describeDbtRunTimeout,
      PIPELINE_ERRORS.dbtRunTimedOut,
      "The dbt Cloud run was still unfinished at its deadline and has been cancelled: {}",
      "$.transform",
    );
    // Its result is the run's last state we already hold; a failing cancel ends with its own cause.
    const cancelDbtRun = this.lambdaTask(LAMBDA_TASKS.cancelDbtRun).addCatch(dbtRunTimedOut, {
      resultPath: ERROR_RESULT_PATH,
    });

    // Extract: unload the training data from the warehouse.
    const catchExtract = (task: sfn.TaskStateBase) =>
      task
        .addCatch(notEnoughData, { errors: [PIPELINE_ERRORS.insufficientData], resultPath: ERROR_RESULT_PATH })
        .addCatch(extractFailed, { resultPath: ERROR_RESULT_PATH });
    const startExtract = catchExtract(this.lambdaTask(LAMBDA_TASKS.startExtract));
    const waitForExtract = new sfn.Wait(this, names.waitForExtract, {
      time: sfn.WaitTime.duration(props.polling.extract),
    });
    const checkExtract = catchExtract(this.lambdaTask(LAMBDA_TASKS.checkExtract));

    // Train: two Batch jobs at once, so the served model costs no wall time. The evaluated model
    // learns without the test span (its figures stay honest); the served one learns from the whole
    // window. GPU, attempts and Spot-reclaim retries live in the job definition.
    const trainEvaluated = this.trainingBranch(props, {
      stateName: names.trainEvaluated,
      jobNamePart: "train",
      command: "$.run.trainingCommand",
      which: "the evaluated model (trained without the test span)",
      describeFailure: names.describeEvaluatedTrainingFailure,
      describeTimeout: names.describeEvaluatedTrainingTimeout,
      failed: names.evaluatedTrainingFailed,
    });
    const trainServed = this.trainingBranch(props, {
      stateName: names.trainServed,
      jobNamePart: "refit",
      command: "$.run.servedTrainingCommand",
      which: "the served model (trained on the whole window)",
      describeFailure: names.describeServedTrainingFailure,
      describeTimeout: names.describeServedTrainingTimeout,
      failed: names.servedTrainingFailed,
    });
    const train = new sfn.Parallel(this, names.train, {
      resultSelector: { evaluated: sfn.JsonPath.objectAt("$[0]"), served: sfn.JsonPath.objectAt("$[1]") },
      resultPath: `$.${STATE_KEYS.train}`,
    })
      .branch(trainEvaluated)
      .branch(trainServed)
      // Each branch ends in a TrainingFailed whose cause names its model; anything else (a
      // States.Runtime error, say) lands in the same Fail state with its own cause.
      .addCatch(trainingFailed, { resultPath: ERROR_RESULT_PATH });

    // The served model has no held-out day left to be judged on: compare it with the evaluated one.
    const checkServedModel = this.lambdaTask(LAMBDA_TASKS.checkServedModel)
      .addCatch(servedModelRejected, { errors: [PIPELINE_ERRORS.servedModelRejected], resultPath: ERROR_RESULT_PATH })
      .addCatch(evaluationFailed, { resultPath: ERROR_RESULT_PATH });

    // Evaluate, register, gate.
    const evaluate = this.lambdaTask(LAMBDA_TASKS.evaluate).addCatch(evaluationFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const registerModel = this.lambdaTask(LAMBDA_TASKS.registerModel).addCatch(registrationFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const describeGateRejection = this.describeFailure(
      names.describeGateRejection,
      PIPELINE_ERRORS.qualityGateFailed,
      "The model did not pass the quality gate (start with deploy=force and a reason to override): {}",
      "$.evaluation.reasons",
    );

    // Deploy: start the guarded update and poll the endpoint until it is in service, failed or past its deadline.
    const startDeployment = this.lambdaTask(LAMBDA_TASKS.startDeployment).addCatch(deploymentFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const waitForEndpoint = new sfn.Wait(this, names.waitForEndpoint, {
      time: sfn.WaitTime.duration(props.polling.endpoint),
    });
    const checkEndpoint = this.lambdaTask(LAMBDA_TASKS.checkDeployment).addCatch(deploymentFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const describeDeploymentFailure = this.describeFailure(
      names.describeDeploymentFailure,
      PIPELINE_ERRORS.deploymentFailed,
      "The endpoint did not reach InService; the previous model keeps serving: {}",
      "$.deployment",
    );

    // Smoke test; a failing or erroring smoke test rolls the endpoint back before failing.
    const rollBackEndpoint = this.lambdaTask(LAMBDA_TASKS.rollBackDeployment).addCatch(rollbackFailed, {
      resultPath: ERROR_RESULT_PATH,
    });
    const smokeTest = this.lambdaTask(LAMBDA_TASKS.smokeTest).addCatch(rollBackEndpoint, {
      resultPath: ERROR_RESULT_PATH,
    });
    const describeSmokeTestFailure = this.describeFailure(
      names.describeSmokeTestFailure,
      PIPELINE_ERRORS.smokeTestFailed,
      "The smoke test failed, so the endpoint was rolled back to its previous configuration: {}",
      "$.smokeTest",
    );
    const cleanUpDeployments = this.lambdaTask(LAMBDA_TASKS.cleanUpDeployments).addCatch(cleanUpFailed, {
      resultPath: ERROR_RESULT_PATH,
    });

    const deploy = startDeployment
      .next(waitForEndpoint)
      .next(checkEndpoint)
      .next(
        new sfn.Choice(this, names.isEndpointInService)
          .when(
            sfn.Condition.and(
              sfn.Condition.booleanEquals("$.deployment.finished", true),
              sfn.Condition.booleanEquals("$.deployment.succeeded", true),
            ),
            smokeTest.next(
              new sfn.Choice(this, names.didSmokeTestPass)
                .when(
                  sfn.Condition.booleanEquals("$.smokeTest.passed", true),
                  cleanUpDeployments.next(new sfn.Succeed(this, names.modelIsServing)),
                )
                .otherwise(describeSmokeTestFailure.next(rollBackEndpoint).next(smokeTestFailed)),
            ),
          )
          .when(
            sfn.Condition.or(
              sfn.Condition.booleanEquals("$.deployment.finished", true),
              sfn.Condition.booleanEquals("$.deployment.timedOut", true),
            ),
            describeDeploymentFailure.next(deploymentFailed),
          )
          .otherwise(waitForEndpoint),
      );

    const gate = new sfn.Choice(this, names.shouldDeploy)
      .when(sfn.Condition.stringEquals("$.run.deploy", "skip"), new sfn.Succeed(this, names.deploymentSkipped))
      .when(
        sfn.Condition.or(
          sfn.Condition.booleanEquals("$.evaluation.passed", true),
          sfn.Condition.stringEquals("$.run.deploy", "force"),
        ),
        deploy,
      )
      .otherwise(describeGateRejection.next(gateRejectedModel));

    const afterExtract = train.next(evaluate).next(checkServedModel).next(registerModel).next(gate);

    const extract = startExtract
      .next(waitForExtract)
      .next(checkExtract)
      .next(
        new sfn.Choice(this, names.isExtractFinished)
          .when(sfn.Condition.booleanEquals("$.extract.finished", true), afterExtract)
          .otherwise(waitForExtract),
      );

    return prepareRun
      .next(startDbtRun)
      .next(waitForDbtRun)
      .next(checkDbtRun)
      .next(
        new sfn.Choice(this, names.isDbtRunFinished)
          .when(sfn.Condition.stringEquals("$.transform.status", "success"), extract)
          .when(
            sfn.Condition.or(
              sfn.Condition.stringEquals("$.transform.status", "error"),
              sfn.Condition.stringEquals("$.transform.status", "cancelled"),
            ),
            describeDbtRunFailure.next(dbtRunFailed),
          )
          .when(
            sfn.Condition.booleanEquals("$.transform.timedOut", true),
            cancelDbtRun.next(describeDbtRunTimeout).next(dbtRunTimedOut),
          )
          .otherwise(waitForDbtRun),
      );
  }

  /**
   * One branch of the training Parallel state: the Batch job, Retry on SubmitJob's transient errors,
   * and a Fail state whose TrainingFailed cause names the model, so the Parallel's Catch (and the
   * notification) says which training failed or timed out.
   */
  private trainingBranch(
    props: PipelineStateMachineProps,
    branch: {
      stateName: string;
      jobNamePart: string;
      command: string;
      which: string;
      describeFailure: string;
      describeTimeout: string;
      failed: string;
    },
  ): sfn.IChainable {
    const failed = new sfn.Fail(this, branch.failed, {
      error: PIPELINE_ERRORS.trainingFailed,
      causePath: `${ERROR_RESULT_PATH}.Cause`,
    });
    const describeTimeout = this.describeFailure(
      branch.describeTimeout,
      PIPELINE_ERRORS.trainingFailed,
      `Training ${branch.which} did not finish within ${props.trainingJob.timeout.toHumanString()} (trainingJob.timeout): {}`,
      ERROR_RESULT_PATH,
    );
    const describeFailure = this.describeFailure(
      branch.describeFailure,
      PIPELINE_ERRORS.trainingFailed,
      `Training ${branch.which} failed: {}`,
      ERROR_RESULT_PATH,
    );
    describeTimeout.next(failed);
    describeFailure.next(failed);
    // No ResultPath: the branch's output is the job's `{jobId, status}` alone (the Parallel gathers them).
    return new BatchSubmitJobWithStateTimeout(this, branch.stateName, props.trainingJob.timeout, {
      jobName: sfn.JsonPath.format(
        `${props.namePrefix.replace(/[^A-Za-z0-9_-]/g, "-")}-${branch.jobNamePart}-{}`,
        sfn.JsonPath.stringAt("$.run.shortId"),
      ),
      jobQueueArn: props.trainingJob.jobQueue.jobQueueArn,
      jobDefinitionArn: props.trainingJob.jobDefinition.jobDefinitionArn,
      containerOverrides: { command: sfn.JsonPath.listAt(branch.command) },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      resultSelector: { jobId: sfn.JsonPath.stringAt("$.JobId"), status: sfn.JsonPath.stringAt("$.Status") },
    })
      .addRetry({
        errors: [...BATCH_TRANSIENT_ERRORS],
        interval: Duration.seconds(5),
        maxAttempts: 4,
        backoffRate: 2,
        maxDelay: Duration.minutes(1),
        jitterStrategy: sfn.JitterType.FULL,
      })
      .addCatch(describeTimeout, { errors: [sfn.Errors.TIMEOUT], resultPath: ERROR_RESULT_PATH })
      .addCatch(describeFailure, { resultPath: ERROR_RESULT_PATH });
  }

  /**
   * A Lambda Task in the one form every pipeline step shares: the function's own ARN as the resource
   * (the handler's return value is the task result, no `{Payload}` envelope to unwrap), the whole state
   * as the payload, the result at its state key, Retry on transient errors and a timeout.
   */
  private lambdaTask(
    spec: LambdaTaskSpec,
    overrides: { payload?: sfn.TaskInput; resultSelector?: Record<string, unknown> } = {},
  ): sfn.TaskStateBase {
    const fn: lambda.IFunction = this.functions[spec.functionKey];
    const task = new tasks.LambdaInvoke(this, spec.stateName, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: overrides.payload ?? (spec.redriveAwareKeys ? redriveAwarePayload(spec.redriveAwareKeys) : undefined),
      resultSelector: overrides.resultSelector,
      resultPath:
        spec.functionKey === "prepareRun"
          ? undefined
          : spec.resultKey === null
            ? sfn.JsonPath.DISCARD
            : `$.${spec.resultKey}`,
      taskTimeout: sfn.Timeout.duration(this.lambdaTaskTimeout),
    }).addRetry({
      errors: [...LAMBDA_TRANSIENT_ERRORS],
      interval: Duration.seconds(2),
      maxAttempts: 5,
      backoffRate: 2,
      maxDelay: Duration.minutes(1),
      jitterStrategy: sfn.JitterType.FULL,
    });
    if (spec.retriesTimeouts) {
      // A warehouse call slower than the function's timeout (a cold warehouse) may well pass next time.
      task.addRetry({
        errors: [...LAMBDA_TIMEOUT_ERRORS],
        interval: Duration.seconds(30),
        maxAttempts: 2,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    if (spec.busyErrors.length > 0) {
      // Another change to the endpoint is in progress: that takes minutes, not seconds.
      task.addRetry({
        errors: [...spec.busyErrors],
        interval: Duration.minutes(1),
        maxAttempts: 10,
        backoffRate: 1.5,
        maxDelay: Duration.minutes(5),
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    return task;
  }

  /**
   * A Pass state that writes `{Error, Cause}` to `$.error`, the same shape a Catch writes, so one Fail
   * state serves both a caught error and a status-driven failure. Fail's CausePath cannot take an
   * intrinsic function in aws-local-stepfunctions, hence the Pass.
   */
  private describeFailure(name: string, error: string, message: string, detailPath: string): sfn.Pass {
    return new sfn.Pass(this, name, {
      parameters: {
        Error: error,
        Cause: sfn.JsonPath.format(message, sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(detailPath))),
      },
      resultPath: ERROR_RESULT_PATH,
    });
  }
}

/** The given state keys and the execution's redrive count: what a polling check needs to keep its deadline across a redrive. */
function redriveAwarePayload(keys: readonly string[]): sfn.TaskInput {
  return sfn.TaskInput.fromObject({
    ...Object.fromEntries(keys.map((key) => [key, sfn.JsonPath.objectAt(`$.${key}`)])),
    execution: { redriveCount: sfn.JsonPath.numberAt("$$.Execution.RedriveCount") },
  });
}

/**
 * BatchSubmitJob turns `taskTimeout` into Batch's per-attempt `AttemptDurationSeconds` and drops the
 * state's own `TimeoutSeconds`. The per-attempt limit belongs to the job definition; this state needs
 * the whole-stage limit (all attempts, queueing included), which Step Functions enforces by
 * terminating the job.
 */
class BatchSubmitJobWithStateTimeout extends tasks.BatchSubmitJob {
  constructor(
    scope: Construct,
    id: string,
    private readonly stateTimeout: Duration,
    props: tasks.BatchSubmitJobProps,
  ) {
    super(scope, id, props);
  }

  override toStateJson(topLevelQueryLanguage?: sfn.QueryLanguage): object {
    return { ...super.toStateJson(topLevelQueryLanguage), TimeoutSeconds: this.stateTimeout.toSeconds() };
  }
}
