import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_ENDPOINT_PORT, type PmsHome } from "./home.ts";
import { type LocalEndpointState, LocalModelHost } from "./model-host.ts";
import { latestSuccessfulRun, RunNotFoundError, readRunRecord } from "./run-record.ts";
import { curlLine } from "./summary.ts";

export interface ServeCommandOptions {
  readonly home: PmsHome;
  readonly endpointName: string;
  readonly runId?: string;
  readonly modelPath?: string;
  /** The public port when the endpoint is (re)started. @default the endpoint's port, else 8080 */
  readonly port?: number;
}

export class NothingToServeError extends Error {
  override readonly name = "NothingToServe";
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/**
 * `pms serve`: puts a trained model behind the local endpoint (the deploy room's LocalModelHost, the
 * same serving process and blue/green swap the pipeline uses) and returns: the processes are
 * detached, so the endpoint keeps answering after the command ends. Default model: the latest
 * successful local run's.
 */
export async function serveCommand(options: ServeCommandOptions): Promise<LocalEndpointState> {
  const { home } = options;
  const host = new LocalModelHost({
    home: home.root,
    endpointName: options.endpointName,
    port: options.port ?? DEFAULT_ENDPOINT_PORT,
  });
  let target: { readonly runId: string; readonly modelUri: string; readonly shortId: string };
  if (options.modelPath) {
    const modelUri = options.modelPath.startsWith("s3://") ? options.modelPath : resolve(options.modelPath);
    // Checked before any process starts: a typo fails here, not after a serving process gave up.
    if (!modelUri.startsWith("s3://") && !existsSync(modelUri))
      throw new NothingToServeError(
        `No model at ${modelUri}: pass a model.tar.gz (or its extracted folder) a run wrote, e.g. ${home.runs}/<run>/model/model.tar.gz, or use --run (see \`pms runs\`).`,
      );
    target = { runId: "manual", modelUri, shortId: `m-${shortHash(modelUri)}` };
  } else {
    const record =
      options.runId && options.runId !== "latest"
        ? await readRunRecord(home, options.runId)
        : await latestSuccessfulRun(home);
    if (!record)
      throw options.runId
        ? new RunNotFoundError(options.runId, home)
        : new NothingToServeError(
            `No successful local run under ${home.runs}: \`pms run\` trains one, or pass --model <model.tar.gz>.`,
          );
    if (record.status !== "succeeded") {
      const modelExists = record.modelUri !== undefined && existsSync(record.modelUri);
      if (modelExists && record.gate?.passed === false)
        throw new NothingToServeError(
          `The quality gate rejected run ${record.runId}'s model (${record.gate.reasons.join("; ") || "see its report"}). ` +
            `Serve it anyway with: pms serve --model ${record.modelUri}`,
        );
      throw new NothingToServeError(
        modelExists
          ? `Run ${record.runId} ${record.status === "aborted" ? "was aborted" : `failed in "${record.error?.state ?? "?"}"`} after training: serve its model anyway with: pms serve --model ${record.modelUri}`
          : `Run ${record.runId} has no model: it ${record.status === "aborted" ? "was aborted" : `failed in "${record.error?.state ?? "?"}" (${record.error?.name ?? "error"})`} before training finished. Pick a successful run from \`pms runs\`.`,
      );
    }
    if (!record.modelUri)
      throw new NothingToServeError(`Run ${record.runId} records no model; pick another run from \`pms runs\`.`);
    target = { runId: record.runId, modelUri: record.modelUri, shortId: `r-${shortHash(record.runId)}` };
  }

  const serving = await host.read();
  if (serving?.current?.modelUri === target.modelUri) return host.start(options.endpointName);
  await host.deploy({ runId: target.runId, shortId: target.shortId, modelUri: target.modelUri });
  const state = await host.read();
  if (state?.status !== "InService" || state.current?.modelUri !== target.modelUri)
    throw new NothingToServeError(
      `The local endpoint could not serve ${target.modelUri}: ${state?.failureReason ?? "unknown reason"} (logs in ${home.logs})`,
    );
  return state;
}

export async function stopServing(home: PmsHome, endpointName: string): Promise<void> {
  await new LocalModelHost({ home: home.root, endpointName }).stop();
}

export function describeServing(state: LocalEndpointState, exampleSession?: readonly string[]): string {
  const url = `http://127.0.0.1:${state.port}`;
  return [
    `Serving ${state.current?.modelUri ?? "?"} (run ${state.current?.runId ?? "?"})`,
    `  endpoint  ${url}  (GET /ping, POST /invocations)`,
    `  try it    ${curlLine(url, exampleSession ?? [])}`,
    "  stop it   pms serve --stop",
  ].join("\n");
}
