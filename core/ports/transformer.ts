import type { DbtRunStatus } from "../pipeline/contracts.ts";

/** Runs the dbt project: a dbt Cloud job in the cloud, the local dbt runner on DuckDB locally. */
export interface TransformRun {
  readonly id: string;
  readonly url: string;
  readonly status: DbtRunStatus;
  readonly finished: boolean;
  /** What went wrong, for a finished run that did not succeed. */
  readonly message?: string;
}

export interface TransformRequest {
  /** Shown as the run's cause in dbt Cloud; carries the execution name. */
  readonly cause: string;
  /** dbt vars for this run, e.g. the training window and tenant. */
  readonly vars?: Readonly<Record<string, string | number | boolean>>;
}

export interface Transformer {
  start(request: TransformRequest): Promise<TransformRun>;
  get(runId: string): Promise<TransformRun>;
  cancel(runId: string): Promise<TransformRun>;
}
