import { z } from "zod";
import { type ExtractOptions, startExtract } from "../../core/data/extract.ts";
import type { ExtractState } from "../../core/pipeline/contracts.ts";
import type { ArtifactStore } from "../../core/ports/artifact-store.ts";
import type { Warehouse } from "../../core/ports/warehouse.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const Day = z.iso.date();

/** The parts of `$.run` (RunContext) the extract uses. */
export const ExtractRunSchema = z.looseObject({
  runId: z.string().min(1),
  executionName: z.string().min(1),
  window: z.object({ start: Day, end: Day }),
  tenant: z.string().min(1),
  holdoutDays: z.number().int().min(1),
  minSessions: z.number().int().min(1),
  uris: z.looseObject({
    data: z.object({
      train: z.string().min(1),
      validation: z.string().min(1),
      test: z.string().min(1),
      manifest: z.string().min(1),
    }),
  }),
});

const StartExtractEventSchema = z.looseObject({ run: ExtractRunSchema });

export interface ExtractDependencies extends ExtractOptions {
  readonly warehouse: Warehouse;
  readonly store: ArtifactStore;
}

/** "Start the extract": starts the unload of the run's training sessions; the warehouse writes the Parquet. */
export function createStartExtractHandler({ warehouse, store, ...options }: ExtractDependencies) {
  return async (event: unknown): Promise<ExtractState> => {
    const { run } = parseTaskEvent(StartExtractEventSchema, event, "Start the extract");
    return startExtract(warehouse, store, run, options);
  };
}
