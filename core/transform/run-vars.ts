import type { RunContext } from "../pipeline/run-context.ts";

/**
 * The dbt vars every pipeline run passes to the dbt project (dbt Cloud job and local dbt runner
 * alike). The project's models read them with `var('window_start')` etc.; keep both sides on these names.
 */
export const DBT_RUN_VARS = {
  windowStart: "window_start",
  windowEnd: "window_end",
  tenant: "tenant",
} as const;

export type DbtRunVars = Record<(typeof DBT_RUN_VARS)[keyof typeof DBT_RUN_VARS], string>;

export function dbtRunVars(run: Pick<RunContext, "window" | "tenant">): DbtRunVars {
  return {
    [DBT_RUN_VARS.windowStart]: run.window.start,
    [DBT_RUN_VARS.windowEnd]: run.window.end,
    [DBT_RUN_VARS.tenant]: run.tenant,
  };
}
