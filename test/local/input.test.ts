import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readInputArgument } from "../../local/input.ts";

describe("readInputArgument", () => {
  it("accepts inline JSON, a JSON file, or nothing", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "pms-input-")), "input.json");
    await writeFile(file, '{"deploy": "skip"}');
    expect(await readInputArgument('{"window": {"start": "2014-04-01", "end": "2014-04-07"}}')).toEqual({
      window: { start: "2014-04-01", end: "2014-04-07" },
    });
    expect(await readInputArgument(file)).toEqual({ deploy: "skip" });
    expect(await readInputArgument(undefined)).toEqual({});
  });

  it("says whether the value was bad JSON or a missing file, with an example", async () => {
    await expect(readInputArgument("{window: 1}")).rejects.toThrow(/--input is not valid JSON.*Example: --input/s);
    await expect(readInputArgument("no-such-file.json")).rejects.toThrow(
      /--input "no-such-file.json": no such file\. Pass inline JSON \(starting with "\{"\)/,
    );
  });
});
