import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { definitionSourceHash, loadPipelineDefinition } from "../../local/definition.ts";
import { pmsHomeAt } from "../../local/home.ts";

const template = {
  Resources: {
    PipelineStateMachine1234: {
      Type: "AWS::StepFunctions::StateMachine",
      Properties: { DefinitionString: JSON.stringify({ StartAt: "Done", States: { Done: { Type: "Succeed" } } }) },
    },
  },
};

describe("loadPipelineDefinition", () => {
  it("synthesizes once per source hash and reads the cache afterwards", async () => {
    const home = pmsHomeAt(await mkdtemp(join(tmpdir(), "pms-definition-")));
    let syntheses = 0;
    const synthesize = () => {
      syntheses++;
      return template;
    };
    const first = await loadPipelineDefinition(home, synthesize, { sourceHash: "aaaa" });
    const second = await loadPipelineDefinition(home, synthesize, { sourceHash: "aaaa" });
    const changed = await loadPipelineDefinition(home, synthesize, { sourceHash: "bbbb" });
    expect(first).toMatchObject({ cached: false, definition: { StartAt: "Done" } });
    expect(second).toMatchObject({ cached: true, definition: { StartAt: "Done" } });
    expect(changed.cached).toBe(false);
    expect(syntheses).toBe(2);
  });

  it("hashes the infrastructure sources: an edit there changes the hash", async () => {
    const root = await mkdtemp(join(tmpdir(), "pms-sources-"));
    await mkdir(join(root, "lib"), { recursive: true });
    await writeFile(join(root, "lib", "stack.ts"), "export const a = 1;");
    await writeFile(join(root, "cdk.json"), "{}");
    const before = await definitionSourceHash(root);
    expect(await definitionSourceHash(root)).toBe(before);
    await writeFile(join(root, "lib", "stack.ts"), "export const a = 2;");
    expect(await definitionSourceHash(root)).not.toBe(before);
  });
});
