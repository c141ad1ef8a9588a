import { CommanderError, InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { InvalidExecutionInputError } from "../../core/pipeline/execution-input.ts";
import { EXIT_CODES, exitCodeForError, exitCodeForRun } from "../../local/exit-codes.ts";
import { InputArgumentError } from "../../local/input.ts";

describe("pms exit codes", () => {
  it("tells a gate rejection from a failure and from an abort", () => {
    expect(exitCodeForRun({ status: "succeeded" })).toBe(0);
    expect(exitCodeForRun({ status: "failed", error: { name: "QualityGateFailed" } })).toBe(3);
    expect(exitCodeForRun({ status: "failed", error: { name: "TrainingFailed" } })).toBe(1);
    expect(exitCodeForRun({ status: "aborted" })).toBe(130);
  });

  it("gives usage errors 2, help and version 0, anything else 1", () => {
    expect(exitCodeForError(new CommanderError(1, "commander.unknownOption", "unknown option"))).toBe(EXIT_CODES.usage);
    expect(exitCodeForError(new InvalidArgumentError("pass --run or --model, not both"))).toBe(EXIT_CODES.usage);
    expect(exitCodeForError(new InvalidExecutionInputError("window: bad"))).toBe(EXIT_CODES.usage);
    expect(exitCodeForError(new InputArgumentError("not JSON"))).toBe(EXIT_CODES.usage);
    expect(exitCodeForError(new CommanderError(0, "commander.helpDisplayed", "(outputHelp)"))).toBe(EXIT_CODES.ok);
    expect(exitCodeForError(new Error("ENOENT"))).toBe(EXIT_CODES.failed);
  });
});
