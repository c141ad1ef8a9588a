import { spawn } from "node:child_process";
import { Command } from "commander";
import { InvalidExecutionInputError, parseExecutionInput } from "../core/pipeline/execution-input.ts";
import {
  createCloudClients,
  deployedExecutionStatus,
  executionArnFor,
  formatDeployedStatus,
  resolveStateMachineArn,
  startDeployedExecution,
} from "./cloud.ts";
import { resolvePmsHome } from "./home.ts";
import { readInputArgument } from "./input.ts";
import { listRunRecords, RunNotFoundError, readRunRecord } from "./run-record.ts";
import { formatRunsTable } from "./summary.ts";

/**
 * The `pms` command line. `bin/pms.ts` only parses `process.argv` with it; every command's work
 * lives in the modules it calls, so tests drive the same program.
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: process.stderr,
  env: process.env,
};

export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command("pms")
    .description(
      "post-modern-stack: run the pipeline locally (the local twin) or drive the deployed one.\n" +
        "Local state lives in $PMS_HOME (default .pms/ in the working directory).",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (text) => io.stderr.write(text) });

  program
    .command("runs")
    .description("List local runs: status, duration, gate verdict, HR@20 / MRR@20.")
    .option("--json", "print the run records as JSON")
    .action(async (options: { json?: boolean }) => {
      const records = await listRunRecords(resolvePmsHome(io.env));
      io.stdout(options.json ? JSON.stringify(records, null, 2) : formatRunsTable(records));
    });

  program
    .command("report")
    .description("Print the path of a local run's HTML report (and open it with --open).")
    .argument("<run>", "run id (see `pms runs`); `latest` for the newest run")
    .option("--open", "open the report in the default browser")
    .action(async (runId: string, options: { open?: boolean }) => {
      const home = resolvePmsHome(io.env);
      const record = runId === "latest" ? (await listRunRecords(home))[0] : await readRunRecord(home, runId);
      if (!record) throw new RunNotFoundError(runId, home);
      if (!record.reportUri)
        throw new Error(
          `Run ${record.runId} has no report (it ${record.status === "failed" ? `failed in "${record.error?.state}"` : `is ${record.status}`} before evaluation).`,
        );
      io.stdout(record.reportUri);
      if (options.open) {
        const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
        spawn(opener, [record.reportUri], { detached: true, stdio: "ignore" })
          .on("error", () => {
            io.stderr.write(`Could not start ${opener}; open ${record.reportUri} in a browser.\n`);
          })
          .unref();
      }
    });

  const cloud = (command: Command) =>
    command
      .option(
        "--state-machine-arn <arn>",
        "the deployed pipeline's state machine (default: read from the stack's outputs)",
      )
      .option(
        "--stack-name <name>",
        "the CloudFormation stack to read the state machine ARN from (default: from cdk.json)",
      )
      .option("--region <region>", "AWS region (default: the AWS SDK's, e.g. AWS_REGION)");

  cloud(
    program
      .command("start")
      .description(
        "Start an execution of the deployed state machine. The input is validated locally first, with the schema PrepareRun uses.",
      )
      .option("--input <json|file>", "execution input: inline JSON or a JSON file", "{}")
      .option("--name <execution-name>", "execution name (default: pms-<time>-<random>)")
      .addHelpText(
        "after",
        `\nExample:\n  pms start --input '{"window": {"start": "2014-04-01", "end": "2014-04-07"}, "deploy": "skip"}'`,
      ),
  ).action(
    async (options: {
      input: string;
      name?: string;
      stateMachineArn?: string;
      stackName?: string;
      region?: string;
    }) => {
      const input = await readInputArgument(options.input);
      // Before any AWS call: a typo in the input fails here, with every problem listed.
      parseExecutionInput(input);
      const clients = createCloudClients(options.region);
      const stateMachineArn = await resolveStateMachineArn(clients, {
        stateMachineArn: options.stateMachineArn,
        stackName: options.stackName ?? (await defaultStackName()),
      });
      const started = await startDeployedExecution(clients, stateMachineArn, input, { name: options.name });
      io.stdout(`Started ${started.executionName}\n  ${started.executionArn}\n  ${started.consoleUrl}`);
      io.stdout(`Follow it with: pms status ${started.executionArn}`);
    },
  );

  cloud(
    program
      .command("status")
      .description(
        "Show a deployed execution: status, current stage, failure cause, and the training stage's Batch job and log stream.",
      )
      .argument("<execution>", "execution ARN, or its name (with --state-machine-arn / --stack-name)"),
  ).action(async (execution: string, options: { stateMachineArn?: string; stackName?: string; region?: string }) => {
    const clients = createCloudClients(options.region);
    const stateMachineArn = execution.startsWith("arn:")
      ? undefined
      : await resolveStateMachineArn(clients, {
          stateMachineArn: options.stateMachineArn,
          stackName: options.stackName ?? (await defaultStackName()),
        });
    const status = await deployedExecutionStatus(clients, executionArnFor(execution, stateMachineArn));
    io.stdout(formatDeployedStatus(status));
  });

  return program;
}

/** The stack `cdk deploy` creates, named from the deploy configuration in cdk.json. */
async function defaultStackName(): Promise<string | undefined> {
  return undefined;
}

/** Turns an error into the one message a user needs (and the exit code), without a stack trace for expected errors. */
export function describeCliError(error: unknown): string {
  if (error instanceof InvalidExecutionInputError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
