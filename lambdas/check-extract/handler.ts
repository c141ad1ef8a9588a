import { z } from "zod";
import { checkExtract } from "../../core/data/extract.ts";
import type { ExtractState } from "../../core/pipeline/contracts.ts";
import { ExecutionRedriveSchema, redriveCountOf } from "../shared/redrive.ts";
import { parseTaskEvent } from "../shared/task-event.ts";
import { type ExtractDependencies, ExtractRunSchema } from "../start-extract/handler.ts";

const CheckExtractEventSchema = z.looseObject({
  run: ExtractRunSchema,
  extract: z.looseObject({
    queryId: z.string().min(1),
    statisticsQueryId: z.string().min(1).optional(),
    deadline: z.iso.datetime().optional(),
    redriveCount: z.number().int().min(0).optional(),
  }),
  execution: ExecutionRedriveSchema,
});

export interface CheckExtractDependencies extends ExtractDependencies {
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * "Check the extract": `running` while the unload runs; on success the manifest (counts, window,
 * content hash) is written last and returned. A failed unload throws ExtractFailed, too few
 * sessions InsufficientData — the state machine's Fail states.
 */
export function createCheckExtractHandler({ warehouse, store, now, ...options }: CheckExtractDependencies) {
  return async (event: unknown): Promise<ExtractState> => {
    const parsed = parseTaskEvent(CheckExtractEventSchema, event, "Check the extract");
    return checkExtract(
      warehouse,
      store,
      parsed.run,
      parsed.extract,
      { ...options, redriveCount: redriveCountOf(parsed) },
      now,
    );
  };
}
