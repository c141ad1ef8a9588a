import { FileSystemArtifactStore } from "../core/artifacts/index.ts";
import { readSessions } from "../core/data/session-parquet.ts";
import { runArtifactUris } from "../core/pipeline/run-context.ts";
import type { ArtifactStore } from "../core/ports/artifact-store.ts";
import type { PmsHome } from "./home.ts";

/** A real session from a run's test split (its first three items), so a printed `curl` line asks something real. */
export async function exampleSession(
  home: PmsHome,
  runId: string,
  store: ArtifactStore = new FileSystemArtifactStore(),
): Promise<string[] | undefined> {
  try {
    const sessions = await readSessions(store, runArtifactUris(home.artifactRoot, runId).data.test);
    return sessions.find((session) => session.items.length >= 2)?.items.slice(0, 3);
  } catch {
    // No test split (a model served by path, or a run that failed early): the line uses no session.
    return undefined;
  }
}
