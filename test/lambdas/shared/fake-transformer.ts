import type { DbtRunStatus } from "../../../core/pipeline/contracts.ts";
import type { Transformer, TransformRequest, TransformRun } from "../../../core/ports/transformer.ts";

/** A Transformer whose runs follow a script of statuses, recording every call it receives. */
export class ScriptedTransformer implements Transformer {
  readonly calls: Array<{ method: "start" | "get" | "cancel"; runId?: string; request?: TransformRequest }> = [];
  private readonly statuses: DbtRunStatus[];

  constructor(
    statuses: DbtRunStatus[],
    private readonly message?: string,
  ) {
    this.statuses = [...statuses];
  }

  async start(request: TransformRequest): Promise<TransformRun> {
    this.calls.push({ method: "start", request });
    return this.next("4242");
  }

  async get(runId: string): Promise<TransformRun> {
    this.calls.push({ method: "get", runId });
    return this.next(runId);
  }

  async cancel(runId: string): Promise<TransformRun> {
    this.calls.push({ method: "cancel", runId });
    return this.next(runId);
  }

  private next(id: string): TransformRun {
    const status = this.statuses.shift();
    if (status === undefined) throw new Error("the scripted transformer ran out of statuses");
    const finished = status === "success" || status === "error" || status === "cancelled";
    return {
      id,
      url: `https://cloud.getdbt.com/deploy/1/projects/2/runs/${id}/`,
      status,
      finished,
      ...(finished && status !== "success" && this.message ? { message: this.message } : {}),
    };
  }
}

export const RUN = {
  runId: "20261126T020007-nightly-abc123",
  executionName: "nightly-2026-11-26",
  window: { start: "2026-11-19", end: "2026-11-25" },
  tenant: "shop-1",
};
