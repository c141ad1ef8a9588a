import { CommanderError } from "commander";
import { PIPELINE_ERRORS } from "../core/pipeline/contracts.ts";
import { InvalidExecutionInputError } from "../core/pipeline/execution-input.ts";
import { InputArgumentError } from "./input.ts";

/**
 * `pms`'s exit codes, so a CI job can tell a model the gate kept out from a broken pipeline and
 * from a bad command line.
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  usage: 2,
  gateRejected: 3,
  aborted: 130,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    failure (a stage failed, a file is missing, …)
  2    usage error (unknown option, bad --input)
  3    the quality gate rejected the model (the run itself worked)
  130  aborted (Ctrl-C)
`;

/** The exit code of a finished local run. */
export function exitCodeForRun(record: {
  readonly status: string;
  readonly error?: { readonly name: string };
}): number {
  if (record.status === "succeeded") return EXIT_CODES.ok;
  if (record.status === "aborted") return EXIT_CODES.aborted;
  return record.error?.name === PIPELINE_ERRORS.qualityGateFailed ? EXIT_CODES.gateRejected : EXIT_CODES.failed;
}

/** The exit code for an error that ended a command. */
export function exitCodeForError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  if (error instanceof InvalidExecutionInputError || error instanceof InputArgumentError) return EXIT_CODES.usage;
  return EXIT_CODES.failed;
}
