import { z } from "zod";
import { readSessions } from "../../core/data/session-parquet.ts";
import { runSmokeTest, type SmokeTestOptions, smokeTestSessions } from "../../core/deploy/smoke-test.ts";
import { DeploymentStateSchema, DeployRunSchema } from "../../core/deploy/task-schemas.ts";
import type { SmokeTestResult } from "../../core/pipeline/contracts.ts";
import type { ArtifactStore } from "../../core/ports/artifact-store.ts";
import type { ModelHost } from "../../core/ports/model-host.ts";
import { parseTaskEvent } from "../shared/task-event.ts";

const SmokeTestEventSchema = z.looseObject({ run: DeployRunSchema, deployment: DeploymentStateSchema });

const ManifestSchema = z.looseObject({ splits: z.looseObject({ train: z.looseObject({ items: z.number() }) }) });

export interface SmokeTestDependencies {
  readonly host: ModelHost;
  /** Reads the run's test split and data manifest. */
  readonly store: ArtifactStore;
  readonly options?: SmokeTestOptions;
}

/**
 * "Smoke test the endpoint": real sessions from the run's test split, sent the way a shop sends
 * them. Never throws for a bad endpoint — `passed: false` with the problems lets the state machine
 * roll back before failing the execution.
 */
export function createSmokeTestHandler({ host, store, options = {} }: SmokeTestDependencies) {
  return async (event: unknown): Promise<SmokeTestResult> => {
    const { run, deployment } = parseTaskEvent(SmokeTestEventSchema, event, "Smoke test the endpoint");
    let sessions: string[][];
    let catalogueSize: number | undefined;
    try {
      sessions = smokeTestSessions(await readSessions(store, run.uris.data.test), options.sessions ?? 20);
      const manifest = ManifestSchema.parse(JSON.parse(await store.getText(run.uris.data.manifest)));
      catalogueSize = manifest.splits.train.items;
    } catch (error) {
      return {
        passed: false,
        sessions: 0,
        latencyMs: { p50: 0, max: 0 },
        problems: [
          `could not read the run's test sessions (${run.uris.data.test}) or manifest: ${error instanceof Error ? error.message : String(error)}`,
        ],
      };
    }
    return runSmokeTest(
      host,
      { endpointName: deployment.endpointName, endpointConfigName: deployment.endpointConfigName },
      sessions,
      { ...options, catalogueSize: options.catalogueSize ?? catalogueSize },
    );
  };
}
