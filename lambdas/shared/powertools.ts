import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { METRICS_NAMESPACE } from "./metric-names.ts";

const ExecutionNamed = z.union([
  z.looseObject({ run: z.looseObject({ executionName: z.string().min(1) }) }),
  z.looseObject({ execution: z.looseObject({ name: z.string().min(1) }) }),
  z.looseObject({ detail: z.looseObject({ name: z.string().min(1) }) }),
]);

/**
 * The execution's name in a handler's event, the logs' correlation id: `run.executionName` for the
 * Tasks that get the state, `execution.name` for "Prepare the run", `detail.name` for the
 * EventBridge status change notify receives. (Powertools' `correlationIdPath` would need its JMESPath
 * package, which the project does not depend on; the value is set directly instead.)
 */
export function executionNameOf(event: unknown): string | undefined {
  const parsed = ExecutionNamed.safeParse(event);
  if (!parsed.success) return undefined;
  const named = parsed.data as {
    run?: { executionName: string };
    execution?: { name: string };
    detail?: { name: string };
  };
  return named.run?.executionName ?? named.execution?.name ?? named.detail?.name;
}

export interface Powertools {
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly metrics: Metrics;
}

/**
 * A function's Logger, Tracer and Metrics, made once at module scope. Metrics' `service` dimension
 * is `POWERTOOLS_SERVICE_NAME` (the function's name, set by PipelineFunction), which the dashboard
 * uses to find each function's metrics.
 */
export function createPowertools(serviceName: string): Powertools {
  return {
    logger: new Logger({ serviceName }),
    tracer: new Tracer({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE }),
  };
}

type LambdaHandler<Result> = (event: unknown, context: Context) => Promise<Result>;

/**
 * The handler with Powertools' `injectLambdaContext` (the Lambda context in every log line, the
 * execution name as correlation id, keys reset between invocations) and, for a function that
 * emits metrics, `logMetrics` (the stored metrics flushed as EMF when the invocation ends, even
 * when it throws). Powertools offers these as class-method decorators and Middy middlewares; the
 * handlers are plain functions and the project has no Middy, so the decorators are applied to the
 * handler as functions, which is what the decorator syntax does.
 */
export function instrumentHandler<Result>(
  tools: Powertools,
  handler: LambdaHandler<Result>,
  options: { readonly emitsMetrics?: boolean } = {},
): LambdaHandler<Result> {
  const correlated: LambdaHandler<Result> = (event, context) => {
    const executionName = executionNameOf(event);
    if (executionName) tools.logger.setCorrelationId(executionName);
    return handler(event, context);
  };
  const descriptor: TypedPropertyDescriptor<LambdaHandler<Result>> = { value: correlated };
  const target = {} as never;
  if (options.emitsMetrics) tools.metrics.logMetrics()(target, "handler", descriptor as never);
  // resetKeys: the correlation id of one execution never leaks into the next invocation's lines.
  tools.logger.injectLambdaContext({ resetKeys: true })(target, "handler", descriptor as never);
  return descriptor.value as LambdaHandler<Result>;
}
