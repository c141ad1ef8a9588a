import { buildProgram, describeCliError } from "../local/cli.ts";
import { EXIT_CODES, exitCodeForError } from "../local/exit-codes.ts";

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const exitCode = exitCodeForError(error);
  // Commander has already printed its own usage errors, help and version.
  if (exitCode !== EXIT_CODES.ok && !isCommanderError(error)) process.stderr.write(`${describeCliError(error)}\n`);
  process.exitCode = exitCode;
}

function isCommanderError(error: unknown): boolean {
  return (
    typeof (error as { code?: unknown })?.code === "string" &&
    String((error as { code: string }).code).startsWith("commander.")
  );
}
