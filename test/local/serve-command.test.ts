import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pmsHomeAt } from "../../local/home.ts";
import { writeRunRecord } from "../../local/run-record.ts";
import { describeServing, NothingToServeError, serveCommand } from "../../local/serve-command.ts";

describe("pms serve", () => {
  it("says what to do when there is no successful run to serve", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-serve-")));
    await expect(serveCommand({ home, endpointName: "pms-recommender" })).rejects.toBeInstanceOf(NothingToServeError);
    await expect(serveCommand({ home, endpointName: "pms-recommender" })).rejects.toThrow(
      /`pms run` trains one, or pass --model/,
    );
    await writeRunRecord(home, {
      runId: "r1",
      executionName: "e",
      status: "aborted",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
      modelUri: "/nowhere/model.tar.gz",
    });
    await expect(serveCommand({ home, endpointName: "pms-recommender", runId: "r1" })).rejects.toThrow(
      /Run r1 has no model: it was aborted before training finished/,
    );
    await expect(serveCommand({ home, endpointName: "pms-recommender", runId: "r2" })).rejects.toThrow(
      /No local run "r2"/,
    );
  });

  it("names a rejected run's model and the command that serves it anyway", async () => {
    // Prepare: a run the gate rejected, whose model archive exists.
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-serve-")));
    const model = join(home.root, "model.tar.gz");
    await writeFile(model, "not read");
    await writeRunRecord(home, {
      runId: "rejected",
      executionName: "e",
      status: "failed",
      startedAt: "2026-01-01T00:00:00Z",
      input: {},
      stages: [],
      modelUri: model,
      error: { name: "QualityGateFailed", cause: "", state: "The model failed the quality gate" },
      gate: { passed: false, checks: [], reasons: ["hr@20 >= popularity + 0.02 failed: hr@20 0.1 is below 0.3"] },
    });
    // Act + Assess
    const failure = serveCommand({ home, endpointName: "pms-recommender", runId: "rejected" });
    await expect(failure).rejects.toThrow(/quality gate rejected run rejected's model \(hr@20 >= popularity/);
    await expect(failure).rejects.toThrow(`pms serve --model ${model}`);
  });

  it("fails at once, naming the file, when --model does not exist", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-serve-")));
    await expect(
      serveCommand({ home, endpointName: "pms-recommender", modelPath: join(home.root, "missing.tar.gz") }),
    ).rejects.toThrow(`No model at ${join(home.root, "missing.tar.gz")}`);
    // Nothing was started: no endpoint state was written.
    expect(existsSync(join(home.root, "endpoint.json"))).toBe(false);
  });

  it("prints the endpoint, a curl line with a real session, and how to stop it", () => {
    const text = describeServing(
      {
        endpointName: "pms-recommender",
        port: 8123,
        proxyPid: 1,
        controlToken: "t",
        status: "InService",
        current: {
          endpointConfigName: "c",
          runId: "r1",
          modelUri: "/m/model.tar.gz",
          backendPort: 9000,
          pid: 2,
          startedAt: "",
        },
        previous: null,
        updatedAt: "",
      },
      ["a", "b"],
    );
    expect(text).toContain("Serving /m/model.tar.gz (run r1)");
    expect(text).toContain(
      `curl -s -X POST http://127.0.0.1:8123/invocations -H 'Content-Type: application/json' -d '{"sessions":[["a","b"]],"k":5}'`,
    );
    expect(text).toContain("pms serve --stop");
  });
});
