import { randomUUID } from "node:crypto";
import type { DbtRunStatus } from "../../core/pipeline/contracts.ts";
import type { Transformer, TransformRequest, TransformRun } from "../../core/ports/transformer.ts";
import type { DuckDBWarehouse } from "../../core/warehouse/duckdb.ts";
import { writeDbtArtifacts } from "./artifacts.ts";
import { loadDbtProject } from "./project.ts";
import { type DbtRunReport, runDbtProject } from "./runner.ts";

interface LocalRun {
  status: DbtRunStatus;
  cancelRequested: boolean;
  report?: DbtRunReport;
  message?: string;
  readonly logLines: string[];
}

export interface LocalDbtTransformerOptions {
  /** The dbt project folder (`dbt-project/`). */
  readonly projectDir: string;
  readonly warehouse: DuckDBWarehouse;
  /** Each dbt-style log line, e.g. to the twin's progress output. */
  readonly log?: (line: string) => void;
  /** @default false */
  readonly fullRefresh?: boolean;
  /** Where each run writes dbt's artifacts, `run_results.json` and `manifest.json` (dbt's `target/`). */
  readonly targetDir?: string;
  /** Each finished run's per-node results (the run record keeps them; the progress shows their counts). */
  readonly onFinished?: (report: DbtRunReport) => void;
}

/**
 * The Transformer port on the local dbt runner: `start` runs `dbt build` in the background of this
 * process, `get` reports it the way the dbt Cloud adapter does, so "Start the dbt run" / "Check the
 * dbt run" behave the same in the local twin. A failing test makes the run `error`, naming the test.
 */
export class LocalDbtTransformer implements Transformer {
  private readonly runs = new Map<string, LocalRun>();

  constructor(private readonly options: LocalDbtTransformerOptions) {}

  async start(request: TransformRequest): Promise<TransformRun> {
    const id = randomUUID();
    const run: LocalRun = { status: "running", cancelRequested: false, logLines: [] };
    this.runs.set(id, run);
    const log = (line: string) => {
      run.logLines.push(line);
      this.options.log?.(line);
    };
    log(`Running with dbt (local runner) for: ${request.cause}`);
    void (async () => {
      try {
        const project = await loadDbtProject(this.options.projectDir);
        const startedAt = new Date();
        const report = await runDbtProject(project, this.options.warehouse, {
          vars: request.vars ?? {},
          fullRefresh: this.options.fullRefresh ?? false,
          log,
          cancelled: () => run.cancelRequested,
        });
        run.report = report;
        if (this.options.targetDir)
          await writeDbtArtifacts(this.options.targetDir, project, report, {
            invocationId: id,
            startedAt,
            vars: request.vars ?? {},
            targetName: "local",
            schema: "main",
          });
        this.options.onFinished?.(report);
        run.status = run.cancelRequested ? "cancelled" : report.success ? "success" : "error";
        if (report.message) run.message = report.message;
      } catch (error) {
        run.status = run.cancelRequested ? "cancelled" : "error";
        run.message = (error as Error).message;
        log(run.message);
      }
    })();
    return this.view(id, run);
  }

  async get(runId: string): Promise<TransformRun> {
    return this.view(runId, this.run(runId));
  }

  async cancel(runId: string): Promise<TransformRun> {
    const run = this.run(runId);
    if (run.status === "running") run.cancelRequested = true;
    return this.view(runId, run);
  }

  /** Resolves when the run has finished; for tests and the twin's shutdown. */
  async wait(runId: string, pollMs = 20): Promise<TransformRun> {
    for (;;) {
      const run = await this.get(runId);
      if (run.finished) return run;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** The dbt-style log of a run and its per-node results. */
  details(runId: string): { readonly log: readonly string[]; readonly report?: DbtRunReport } {
    const run = this.run(runId);
    return { log: run.logLines, ...(run.report ? { report: run.report } : {}) };
  }

  private run(runId: string): LocalRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`No local dbt run ${runId} in this process`);
    return run;
  }

  private view(id: string, run: LocalRun): TransformRun {
    const finished = run.status === "success" || run.status === "error" || run.status === "cancelled";
    return {
      id,
      url: `local-dbt://runs/${id}`,
      status: run.status,
      finished,
      ...(run.message && finished && run.status !== "success" ? { message: run.message } : {}),
    };
  }
}
