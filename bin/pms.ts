import { buildProgram, describeCliError } from "../local/cli.ts";

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`${describeCliError(error)}\n`);
  process.exitCode = 1;
}
