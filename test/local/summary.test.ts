import { describe, expect, it } from "vitest";
import type { LocalRunRecord } from "../../local/run-record.ts";
import { curlLine, formatRunSummary, formatRunsTable } from "../../local/summary.ts";

const succeeded: LocalRunRecord = {
  runId: "20261126T143000-local-abc123-0f0f0f",
  executionName: "local-abc123",
  status: "succeeded",
  startedAt: "2026-11-26T14:30:00.000Z",
  seconds: 95.2,
  input: {},
  window: { start: "2014-04-01", end: "2014-04-07" },
  stages: [
    {
      state: "Prepare the run",
      type: "Task",
      startedAt: "2026-11-26T14:30:00.000Z",
      seconds: 0.01,
      outcome: "succeeded",
    },
    {
      state: "Wait for the dbt run",
      type: "Wait",
      startedAt: "2026-11-26T14:30:00.000Z",
      seconds: 0.2,
      outcome: "succeeded",
    },
    {
      state: "Train the evaluated model on a GPU",
      type: "Task",
      startedAt: "2026-11-26T14:30:01.000Z",
      seconds: 61.5,
      outcome: "succeeded",
    },
  ],
  gate: {
    passed: true,
    checks: [{ name: "hr@20 >= popularity + 0.02", value: 0.61, threshold: 0.11, passed: true }],
    reasons: [],
  },
  metrics: { "hr@20": 0.61234, "mrr@20": 0.3 },
  reportUri: "/tmp/pms/runs/r/report/report.html",
  endpointUrl: "http://127.0.0.1:8080",
  deployed: true,
};

describe("formatRunSummary", () => {
  it("lists the Task stages with timings, the gate's checks, the report and a curl line", () => {
    const text = formatRunSummary(succeeded, { exampleSession: ["sku-1", "sku-2"] });
    expect(text).toContain("SUCCEEDED in 1 min 35 s");
    expect(text).toMatch(/ {4}Train\s+62 s {2}ok/);
    expect(text).toMatch(/ {4}Transform \(dbt\)\s+0\.2 s {2}ok/);
    expect(text).not.toContain("Wait for the dbt run");
    expect(text).toContain("✔ hr@20 >= popularity + 0.02: 0.6100 (threshold 0.1100)");
    expect(text).toContain("report     /tmp/pms/runs/r/report/report.html");
    expect(text).toContain(`curl -s -X POST http://127.0.0.1:8080/invocations`);
    expect(text).toContain(`'{"sessions":[["sku-1","sku-2"]],"k":5}'`);
  });

  it("shows what a check compared instead of a threshold, so no champion never reads as 0.0000", () => {
    const text = formatRunSummary({
      ...succeeded,
      gate: {
        passed: true,
        checks: [
          {
            name: "mrr@20 >= champion - 0.01",
            value: 0.3,
            threshold: 0,
            passed: true,
            detail: "no champion is serving (no model is serving yet): passes",
          },
        ],
        reasons: [],
      },
    });
    expect(text).toContain("✔ mrr@20 >= champion - 0.01: no champion is serving (no model is serving yet): passes");
    expect(text).not.toContain("threshold 0");
  });

  it("shows dbt's model and test results on the transform stage, not its poll count", () => {
    const text = formatRunSummary({
      ...succeeded,
      stages: [
        {
          state: "Check the dbt run",
          type: "Task",
          startedAt: "2026-11-26T14:30:00.000Z",
          seconds: 0.1,
          outcome: "succeeded",
        },
        {
          state: "Check the dbt run",
          type: "Task",
          startedAt: "2026-11-26T14:30:01.000Z",
          seconds: 0.1,
          outcome: "succeeded",
        },
      ],
      dbt: [
        { kind: "model", name: "stg_events", status: "success", seconds: 0.2, rows: 10 },
        { kind: "test", name: "not_null_x", status: "pass", seconds: 0.01, rows: 0 },
        { kind: "test", name: "unique_x", status: "fail", seconds: 0.01, rows: 2 },
      ],
    });
    expect(text).toMatch(/Transform \(dbt\)\s+1\.1 s {2}ok {2}\(1 models ok; 2 tests 1 failed\)/);
    expect(text).not.toContain("checks)");
  });

  it("shows the reason inside a failed Batch job's description", () => {
    const text = formatRunSummary({
      ...succeeded,
      status: "failed",
      error: {
        name: "TrainingFailed",
        cause: JSON.stringify({
          JobId: "j",
          Status: "FAILED",
          StatusReason: "The training process exited with code 1:\nOOM",
        }),
        state: "Train the evaluated model on a GPU",
      },
    });
    expect(text).toContain("    The training process exited with code 1:\n    OOM");
    expect(text).not.toContain("JobId");
    expect(text).not.toContain("  model ");
  });

  it("names the failing stage and its cause", () => {
    const text = formatRunSummary({
      ...succeeded,
      status: "failed",
      deployed: false,
      error: { name: "DbtRunFailed", cause: "test unique_sessions_session_id failed", state: "Check the dbt run" },
    });
    expect(text).toContain('failed in "Check the dbt run": DbtRunFailed');
    expect(text).toContain("    test unique_sessions_session_id failed");
    expect(text).toContain("(previous model, unchanged)");
  });

  it("says which run's model answers on the port, from the endpoint's state rather than the run's outcome", () => {
    const aborted = { ...succeeded, status: "aborted" as const, deployed: false };
    expect(formatRunSummary({ ...aborted, servingRunId: "run-before" })).toContain(
      "(serving run run-before's model, not this run's)",
    );
    expect(formatRunSummary({ ...succeeded, deployed: true, servingRunId: succeeded.runId })).not.toMatch(
      /serving run|unchanged/,
    );
  });
});

describe("curlLine", () => {
  it("quotes SKUs with an apostrophe so the shell line still works", () => {
    expect(curlLine("http://localhost:9000/", ["it's"])).toBe(
      `curl -s -X POST http://localhost:9000/invocations -H 'Content-Type: application/json' -d '{"sessions":[["it'\\''s"]],"k":5}'`,
    );
  });
});

describe("formatRunsTable", () => {
  it("has one aligned row per run with the gate verdict and headline metrics", () => {
    const table = formatRunsTable([
      succeeded,
      { ...succeeded, runId: "r2", status: "aborted", gate: undefined, metrics: undefined },
    ]);
    const [header, first, second] = table.split("\n");
    expect(header).toMatch(/^run\s+status\s+started \(UTC\)\s+duration\s+gate\s+hr@20\s+mrr@20\s+outcome$/);
    expect(first).toContain("succeeded");
    expect(first).toContain("passed");
    expect(first).toContain("0.6123");
    expect(second).toMatch(/^r2\s+aborted/);
    expect(formatRunsTable([])).toMatch(/No local runs yet/);
  });
});
