import { formatSeconds } from "./progress.ts";
import type { LocalRunRecord } from "./run-record.ts";
import { localStateLabel, summarizeStages } from "./stages.ts";

/** A `curl` line that works against the local endpoint, with a session a shopper could have had. */
export function curlLine(endpointUrl: string, session: readonly string[]): string {
  const body = JSON.stringify({ sessions: [session], k: 5 });
  return `curl -s -X POST ${endpointUrl.replace(/\/+$/, "")}/invocations -H 'Content-Type: application/json' -d '${body.replace(/'/g, "'\\''")}'`;
}

/** The end-of-run summary `pms run` prints: what happened, how long each stage took, what the gate said, where things are. */
export function formatRunSummary(
  record: LocalRunRecord,
  options: { readonly exampleSession?: readonly string[] } = {},
): string {
  const lines: string[] = [];
  const took = record.seconds === undefined ? "" : ` in ${formatSeconds(record.seconds)}`;
  lines.push("", `Run ${record.runId}: ${record.status.toUpperCase()}${took}`);
  if (record.error)
    lines.push(
      `  ${record.status === "aborted" ? "stopped in" : "failed in"} "${localStateLabel(record.error.state ?? "?")}": ${record.error.name}`,
      ...indent(readableCause(record.error.cause), "    "),
    );
  if (record.window) lines.push(`  window     ${record.window.start} .. ${record.window.end}`);

  const stages = summarizeStages(record.stages);
  if (stages.length > 0) {
    lines.push("  stages");
    const width = Math.max(...stages.map((stage) => stage.stage.length));
    for (const stage of stages)
      lines.push(
        `    ${stage.stage.padEnd(width)}  ${formatSeconds(stage.seconds).padStart(10)}  ${stage.outcome === "succeeded" ? "ok" : stage.outcome.toUpperCase()}${stage.stage === "Transform (dbt)" && record.dbt ? `  (${dbtCounts(record.dbt)})` : stage.polls > 1 ? `  (${stage.polls} checks)` : ""}`,
      );
  }
  if (record.gate) {
    lines.push(`  gate       ${record.gate.passed ? "PASSED" : "REJECTED"}`);
    for (const check of record.gate.checks)
      lines.push(
        // The detail says what was compared with what; a bare threshold would read 0 when there is no champion.
        `    ${check.passed ? "✔" : "✖"} ${check.name}: ${check.detail ?? `${round(check.value)} (threshold ${round(check.threshold)})`}`,
      );
  }
  if (record.metrics && Object.keys(record.metrics).length > 0)
    lines.push(
      `  metrics    ${Object.entries(record.metrics)
        .map(([name, value]) => `${name} ${round(value)}`)
        .join("  ")}`,
    );
  if (record.reportUri) lines.push(`  report     ${record.reportUri}`);
  if (record.modelUri && record.status === "succeeded") lines.push(`  model      ${record.modelUri}`);
  if (record.endpointUrl) {
    lines.push(`  endpoint   ${record.endpointUrl}${servingNote(record)}`);
    if (options.exampleSession && options.exampleSession.length > 0)
      lines.push(`  try it     ${curlLine(record.endpointUrl, options.exampleSession)}`);
  }
  if (record.logPath) lines.push(`  log        ${record.logPath}`);
  return lines.join("\n");
}

/** Which model answers on the port, as endpoint.json said when the run ended (never inferred from the run). */
function servingNote(record: LocalRunRecord): string {
  if (record.servingRunId === undefined) return record.deployed ? "" : " (previous model, unchanged)";
  return record.servingRunId === record.runId ? "" : ` (serving run ${record.servingRunId}'s model, not this run's)`;
}

/**
 * A failed Batch job's cause is its job description as JSON (as Step Functions reports it); the
 * reason inside is what a person wants to read.
 */
export function readableCause(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { StatusReason?: unknown; errorMessage?: unknown };
    if (typeof parsed.StatusReason === "string") return parsed.StatusReason;
    if (typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // Not JSON: already readable.
  }
  return cause;
}

/** "5 models ok; 47 tests passed": what dbt users read, rather than how often the run was polled. */
function dbtCounts(nodes: NonNullable<LocalRunRecord["dbt"]>): string {
  const models = nodes.filter((node) => node.kind === "model");
  const tests = nodes.filter((node) => node.kind === "test");
  const failed = (list: typeof nodes) =>
    list.filter((node) => node.status === "error" || node.status === "fail").length;
  const modelFailures = failed(models);
  const testFailures = failed(tests);
  return (
    `${models.length} models ${modelFailures > 0 ? `${modelFailures} failed` : "ok"}; ` +
    `${tests.length} tests ${testFailures > 0 ? `${testFailures} failed` : "passed"}`
  );
}

function indent(text: string, prefix: string): string[] {
  return text.split("\n").map((line) => `${prefix}${line}`);
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

export function formatRunsTable(records: readonly LocalRunRecord[]): string {
  if (records.length === 0) return "No local runs yet: `pms run` starts one.";
  const rows = records.map((record) => [
    record.runId,
    record.status,
    record.startedAt.replace("T", " ").replace(/\..*$/, ""),
    record.seconds === undefined ? "" : formatSeconds(record.seconds),
    record.gate ? (record.gate.passed ? "passed" : "rejected") : "",
    record.metrics?.["hr@20"] === undefined ? "" : round(record.metrics["hr@20"]),
    record.metrics?.["mrr@20"] === undefined ? "" : round(record.metrics["mrr@20"]),
    record.error ? `${record.error.name}` : record.deployed ? "deployed" : "",
  ]);
  const header = ["run", "status", "started (UTC)", "duration", "gate", "hr@20", "mrr@20", "outcome"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [format(header), ...rows.map(format)].join("\n");
}
