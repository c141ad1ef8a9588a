import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { projectPath } from "../../lib/project-paths.ts";

/** The Dockerfile's stages: name → its instructions (continuation lines joined). */
function stages(): Map<string, string[]> {
  const text = readFileSync(projectPath("training-image/Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const byStage = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from?.[1]) {
      current = [];
      byStage.set(from[1], current);
    } else current?.push(line);
  }
  return byStage;
}

describe("training-image/Dockerfile", () => {
  it("runs the serving stage as root (SageMaker: 'expects all containers to run with root users') and training as a non-root user", () => {
    // Custom Inference Code with Hosting Services: docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html
    const serve = stages().get("serve") ?? [];
    const users = (stage: string[]) =>
      stage.filter((line) => /^USER\s/i.test(line)).map((line) => line.split(/\s+/)[1]);
    expect(serve).not.toEqual([]);
    expect(users(serve).every((user) => user === "root" || user === "0")).toBe(true);
    expect(users(stages().get("train") ?? []).at(-1)).toBe("pms");
  });

  it("installs every stage's dependencies with npm ci from a lockfile copied in first, never npm install", () => {
    for (const [name, stage] of stages()) {
      expect(
        stage.filter((line) => /npm (install|i)\b/.test(line)),
        name,
      ).toEqual([]);
      const ci = stage.findIndex((line) => /\bnpm ci\b/.test(line));
      if (ci === -1) continue;
      const lockfileCopied = stage.slice(0, ci).some((line) => /^COPY\s.*package-lock\.json/i.test(line));
      expect(lockfileCopied, `${name}: npm ci needs package-lock.json`).toBe(true);
    }
  });

  it("locks exactly the serving stage's declared dependencies", () => {
    const manifest = JSON.parse(readFileSync(projectPath("training-image/serve/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const lock = JSON.parse(readFileSync(projectPath("training-image/serve/package-lock.json"), "utf8")) as {
      packages: Record<string, { dependencies?: Record<string, string>; version?: string }>;
    };
    expect(lock.packages[""]?.dependencies).toEqual(manifest.dependencies);
    expect(lock.packages["node_modules/@tensorflow/tfjs-node"]?.version).toBe(
      manifest.dependencies["@tensorflow/tfjs-node"],
    );
    expect(lock.packages["node_modules/@tensorflow/tfjs-node-gpu"]).toBeUndefined();
  });
});
