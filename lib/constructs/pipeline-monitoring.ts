import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import {
  type AlarmWithAnnotation,
  DefaultDashboardFactory,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from "cdk-monitoring-constructs";
import { Construct } from "constructs";
import { VARIANT_NAME } from "../../core/deploy/names.ts";
import { METRICS_NAMESPACE, PIPELINE_METRICS } from "../../lambdas/shared/metric-names.ts";

export interface PipelineMonitoringProps {
  readonly namePrefix: string;
  readonly stateMachine: sfn.IStateMachine;
  /** Where alarms go: the pipeline's notification topic. */
  readonly alarmTopic: sns.ITopic;
  /** The functions whose duration, errors and throttles the dashboard shows. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The function that emits Evaluate's metrics (HR@20, MRR@20, gate verdict, training seconds). */
  readonly evaluateFunction: lambda.IFunction;
  /** The function that emits the deployed model version. */
  readonly deploymentFunction: lambda.IFunction;
  readonly endpointName: string;
  /** Alarm when the training passes took longer than this (a model or data set growing towards the job timeout). */
  readonly trainingDurationAlarm: Duration;
  /** Alarm on this many 5xx answers a minute from the endpoint. */
  readonly endpoint5xxPerMinute: number;
  /** Alarm on a p99 model latency above this. */
  readonly endpointLatencyP99: Duration;
}

/**
 * The pipeline's day-2 view, built with cdk-monitoring-constructs: one CloudWatch dashboard
 * (executions, each function, the model's quality and training time, the deployed version, the
 * endpoint) and the alarms a team acts on, all to the notification topic: an execution failed,
 * timed out or was aborted; training took longer than it should; the endpoint answers 5xx or slowly.
 * The library has no SageMaker or Batch monitoring, so those are custom metric groups.
 */
export class PipelineMonitoring extends Construct {
  readonly facade: MonitoringFacade;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    this.facade = new MonitoringFacade(this, "Facade", {
      alarmFactoryDefaults: {
        alarmNamePrefix: props.namePrefix,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.alarmTopic }),
        datapointsToAlarm: 1,
      },
      metricFactoryDefaults: {},
      dashboardFactory: new DefaultDashboardFactory(this, "Dashboards", {
        dashboardNamePrefix: `${props.namePrefix}-pipeline`,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });

    const pipelineMetric = (fn: lambda.IFunction, metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        // Powertools Metrics' `service` dimension is POWERTOOLS_SERVICE_NAME, the function's name.
        dimensionsMap: { service: fn.functionName },
        statistic,
        // One value a night: a day's period shows each run as one point.
        period: Duration.days(1),
        label,
      });
    const endpointMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: "AWS/SageMaker",
        metricName,
        dimensionsMap: { EndpointName: props.endpointName, VariantName: VARIANT_NAME },
        statistic,
        period: Duration.minutes(1),
        label,
      });

    this.facade
      .addLargeHeader(`${props.namePrefix} pipeline`)
      .monitorStepFunction({
        stateMachine: props.stateMachine,
        alarmFriendlyName: "Pipeline",
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addAbortedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
      })
      .monitorCustom({
        alarmFriendlyName: "Model",
        humanReadableName: "Model quality and training",
        metricGroups: [
          {
            title: "Quality on the test split (challenger)",
            metrics: [
              pipelineMetric(props.evaluateFunction, PIPELINE_METRICS.hitRateAt20, "Average", "HR@20"),
              pipelineMetric(props.evaluateFunction, PIPELINE_METRICS.mrrAt20, "Average", "MRR@20"),
            ],
          },
          {
            title: "Quality gate (1 passed, 0 failed)",
            metrics: [pipelineMetric(props.evaluateFunction, PIPELINE_METRICS.gatePassed, "Minimum", "gate")],
          },
          {
            title: "Training time",
            metrics: [
              {
                metric: pipelineMetric(
                  props.evaluateFunction,
                  PIPELINE_METRICS.trainingSeconds,
                  "Maximum",
                  "training seconds",
                ),
                alarmFriendlyName: "TrainingDuration",
                addAlarm: {
                  Warning: {
                    threshold: props.trainingDurationAlarm.toSeconds(),
                    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    additionalDescription: `Training took longer than ${props.trainingDurationAlarm.toHumanString()}: the data or the model grows towards the Batch job timeout.`,
                  },
                },
              },
            ],
          },
          {
            title: "Deployed model version",
            metrics: [
              pipelineMetric(props.deploymentFunction, PIPELINE_METRICS.deployedModelVersion, "Maximum", "version"),
            ],
          },
        ],
      })
      .monitorCustom({
        alarmFriendlyName: "Endpoint",
        humanReadableName: `Endpoint ${props.endpointName}`,
        metricGroups: [
          {
            title: "5xx answers a minute",
            metrics: [
              {
                metric: endpointMetric("Invocation5XXErrors", "Sum", "5xx"),
                alarmFriendlyName: "Endpoint5xx",
                addAlarm: {
                  Critical: {
                    threshold: props.endpoint5xxPerMinute,
                    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluationPeriods: 3,
                    datapointsToAlarm: 2,
                    treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                  },
                },
              },
            ],
          },
          {
            title: "Model latency p99 (µs)",
            metrics: [
              {
                metric: endpointMetric("ModelLatency", "p99", "p99"),
                alarmFriendlyName: "EndpointLatency",
                addAlarm: {
                  Warning: {
                    // ModelLatency is reported in microseconds.
                    threshold: props.endpointLatencyP99.toMilliseconds() * 1000,
                    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluationPeriods: 5,
                    datapointsToAlarm: 3,
                    treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                  },
                },
              },
            ],
          },
        ],
      });
    for (const [name, fn] of Object.entries(props.functions)) {
      this.facade.monitorLambdaFunction({ lambdaFunction: fn, alarmFriendlyName: name, humanReadableName: name });
    }
  }

  get alarms(): AlarmWithAnnotation[] {
    return this.facade.createdAlarms();
  }
}
