import { spawn } from "node:child_process";
import { Command, Option } from "commander";
import { LOAD_FORMATS, type LoadFormat } from "../core/data/load/formats.ts";
import type { BadRowPolicy } from "../core/data/load/load.ts";
import { InvalidExecutionInputError, parseExecutionInput } from "../core/pipeline/execution-input.ts";
import { resolvePmsHome } from "./home.ts";
import { readInputArgument } from "./input.ts";
import { createProgressRenderer } from "./progress.ts";
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
    .command("run")
    .description(
      "Run one execution of the pipeline locally: the synthesized state machine, the real handlers, DuckDB, the local dbt runner, training in a child process and the local endpoint.",
    )
    .option("--input <json|file>", "execution input: inline JSON or a JSON file (same schema as the console)", "{}")
    .option("--plain", "plain progress lines, no redrawn bars (the default when not on a terminal or with CI set)")
    .addHelpText(
      "after",
      `\nExamples:\n  pms run\n  pms run --input '{"window": {"start": "2014-04-01", "end": "2014-04-07"}}'\n  pms run --input '{"training": {"epochs": 2}, "deploy": "skip"}'`,
    )
    .action(async (options: { input: string; plain?: boolean }) => {
      const input = await readInputArgument(options.input);
      const controller = new AbortController();
      // First Ctrl-C: abort the execution, stop the training process, mark the run aborted. Second: leave now.
      const onInterrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        io.stderr.write("\nStopping the run (Ctrl-C again to quit at once)…\n");
        controller.abort();
      };
      process.on("SIGINT", onInterrupt);
      try {
        const { runCommand } = await import("./run-command.ts");
        const record = await runCommand({
          home: resolvePmsHome(io.env),
          input,
          reporter: createProgressRenderer({ stream: io.stderr, plain: options.plain || Boolean(io.env.CI) }),
          print: io.stdout,
          signal: controller.signal,
        });
        if (record.status !== "succeeded") process.exitCode = record.status === "aborted" ? 130 : 1;
      } finally {
        process.off("SIGINT", onInterrupt);
      }
    });

  const data = program.command("data").description("Put events into the local warehouse ($PMS_HOME/warehouse.duckdb).");

  data
    .command("load")
    .description("Load a click log or catalogue into the local warehouse, all or nothing.")
    .argument("<file>", "the file to load")
    .addOption(new Option("--format <format>", "the file's format").choices(LOAD_FORMATS).makeOptionMandatory())
    .addOption(
      new Option("--on-bad-row <policy>", "skip bad rows (and report them) or abort")
        .choices(["skip", "abort"])
        .default("abort"),
    )
    .option("--tenant <api-key>", "tenant written on formats that carry none (default: the configured run tenant)")
    .option("--plain", "plain progress lines")
    .addHelpText(
      "after",
      "\nExample (the RecSys 2015 sample click log):\n  pms data load ../shared/data/yoochoose-clicks-100k_train_full.txt --format rsc15",
    )
    .action(
      async (
        file: string,
        options: { format: LoadFormat; onBadRow: BadRowPolicy; tenant?: string; plain?: boolean },
      ) => {
        const [{ loadCommand }, config] = await Promise.all([import("./data-commands.ts"), deployConfig()]);
        await loadCommand({
          home: resolvePmsHome(io.env),
          file,
          format: options.format,
          onBadRow: options.onBadRow,
          tenant: options.tenant ?? config.runDefaults.tenant,
          reporter: createProgressRenderer({ stream: io.stderr, plain: options.plain || Boolean(io.env.CI) }),
        });
      },
    );

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
      const { createCloudClients, resolveStateMachineArn, startDeployedExecution } = await import("./cloud.ts");
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
    const {
      createCloudClients,
      deployedExecutionStatus,
      executionArnFor,
      formatDeployedStatus,
      resolveStateMachineArn,
    } = await import("./cloud.ts");
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
async function defaultStackName(): Promise<string> {
  // bin/app.ts names the stack `<namePrefix>-pipeline`.
  return `${(await deployConfig()).namePrefix}-pipeline`;
}

/** The deploy configuration in cdk.json, loaded only by the commands that need it (it pulls in aws-cdk-lib). */
async function deployConfig() {
  const { loadDeployConfigFromCdkJson } = await import("../lib/config.ts");
  return loadDeployConfigFromCdkJson();
}

/** Turns an error into the one message a user needs (and the exit code), without a stack trace for expected errors. */
export function describeCliError(error: unknown): string {
  if (error instanceof InvalidExecutionInputError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
