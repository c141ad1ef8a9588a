import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { LOAD_FORMATS, type LoadFormat } from "../core/data/load/formats.ts";
import type { BadRowPolicy } from "../core/data/load/load.ts";
import { InvalidExecutionInputError, parseExecutionInput } from "../core/pipeline/execution-input.ts";
import { EXIT_CODES, EXIT_CODES_HELP, exitCodeForRun } from "./exit-codes.ts";
import { resolvePmsHome } from "./home.ts";
import { readInputArgument } from "./input.ts";
import { createProgressRenderer } from "./progress.ts";
import { listRunRecords, RunNotFoundError, readRunRecord } from "./run-record.ts";
import { SAMPLE_EVENTS } from "./sample-data.ts";
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

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65_535)
    throw new InvalidArgumentError("must be a port number between 1 and 65535");
  return parsed;
}

function positiveInteger(value: string): number {
  const parsed = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError("must be a positive whole number");
  return parsed;
}

/** A closed terminal (SIGHUP) and `kill` (SIGTERM) stop a run exactly as Ctrl-C does. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * `--port`, else $PMS_PORT, else nothing (the command's own default, 8080): a machine where 8080 is
 * taken sets PMS_PORT once instead of passing --port to every command.
 */
function withPort<T>(flag: number | undefined, io: CliIo, build: (port: number) => T): T | Record<string, never> {
  if (flag !== undefined) return build(flag);
  const fromEnv = io.env.PMS_PORT;
  if (fromEnv === undefined || fromEnv === "") return {};
  try {
    return build(port(fromEnv));
  } catch {
    throw new InvalidArgumentError(`PMS_PORT="${fromEnv}" must be a port number between 1 and 65535`);
  }
}

/** First stop signal aborts cleanly (the run is marked aborted, child processes stop); a second one leaves at once. */
function interruptible(io: CliIo): { readonly signal: AbortSignal; readonly dispose: () => void } {
  const controller = new AbortController();
  const onInterrupt = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    try {
      io.stderr.write(`\nStopping the run (${signal}; Ctrl-C again to quit at once)…\n`);
    } catch {
      // After SIGHUP the terminal may be gone; stopping matters more than saying so.
    }
    // A closed terminal makes later writes fail with EIO; the run must still stop and record itself.
    if (signal === "SIGHUP") for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    controller.abort(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onInterrupt);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onInterrupt);
    },
  };
}

/** The package's version; package.json sits one folder up from both local/cli.ts and the prebuilt dist/pms.mjs. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

export function buildProgram(io: CliIo = defaultIo): Command {
  const renderer = (options: { readonly plain?: boolean }) =>
    createProgressRenderer({ stream: io.stderr, plain: options.plain === true || Boolean(io.env.CI) });

  const program = new Command("pms")
    .description(
      "post-modern-stack: run the pipeline locally (the local twin) or drive the deployed one.\n" +
        "Local state lives in $PMS_HOME (default .pms/ in the working directory); the local endpoint listens on\n" +
        "$PMS_PORT (default 8080) unless --port says otherwise.",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (text) => io.stderr.write(text) })
    .addHelpText("after", EXIT_CODES_HELP)
    // Usage errors reach bin/pms.ts as errors, which gives them their own exit code (2).
    .exitOverride();

  program
    .command("run")
    .description(
      "Run one execution of the pipeline locally: the synthesized state machine, the real handlers, DuckDB, the local dbt runner, training in a child process and the local endpoint.",
    )
    .option("--input <json|file>", "execution input: inline JSON or a JSON file (same schema as the console)", "{}")
    .option("--plain", "plain progress lines, no redrawn bars (the default when not on a terminal or with CI set)")
    .addHelpText(
      "after",
      "\nWith no window, a run takes the nightly window (the days before today) or, when that holds no data, the data's\n" +
        "latest 7 full days.\n" +
        `\nExamples:\n  pms data generate\n  pms run\n  pms run --input '{"window": {"start": "2024-01-08", "end": "2024-01-14"}}'\n  pms run --input '{"training": {"epochs": 2}, "deploy": "skip"}'`,
    )
    .option("--port <port>", "port of the local endpoint when this run starts it (default 8080)", port)
    .action(async (options: { input: string; plain?: boolean; port?: number }) => {
      const input = await readInputArgument(options.input);
      // A typo fails here with every problem listed (exit code 2), before the state machine starts.
      parseExecutionInput(input);
      const interrupt = interruptible(io);
      try {
        const [{ runCommand }, config] = await Promise.all([import("./run-command.ts"), deployConfig()]);
        const record = await runCommand({
          home: resolvePmsHome(io.env),
          input,
          runDefaults: config.runDefaults,
          reporter: renderer(options),
          print: io.stdout,
          signal: interrupt.signal,
          ...withPort(options.port, io, (chosen) => ({ twin: { port: chosen } })),
        });
        process.exitCode = exitCodeForRun(record);
      } finally {
        interrupt.dispose();
      }
    });

  program
    .command("pipeline")
    .description(
      "The quick start (`npm run pipeline`): generate sample data if the warehouse is empty, then run the pipeline end to end on its latest week, leaving the local endpoint serving.",
    )
    .option("--input <json|file>", "execution input; the window defaults to the last 7 days of the data", "{}")
    .option("--events <n>", "events to generate when the warehouse is empty", positiveInteger)
    .option("--port <port>", "port of the local endpoint (default 8080)", port)
    .option("--plain", "plain progress lines")
    .action(async (options: { input: string; events?: number; port?: number; plain?: boolean }) => {
      const { parseExecutionInput } = await import("../core/pipeline/execution-input.ts");
      const input = parseExecutionInput(await readInputArgument(options.input));
      const interrupt = interruptible(io);
      try {
        const [{ pipelineCommand }, config] = await Promise.all([import("./pipeline-command.ts"), deployConfig()]);
        const record = await pipelineCommand({
          home: resolvePmsHome(io.env),
          tenant: input.tenant ?? config.runDefaults.tenant,
          input,
          reporter: renderer(options),
          print: io.stdout,
          signal: interrupt.signal,
          ...(options.events === undefined ? {} : { events: options.events }),
          ...withPort(options.port, io, (chosen) => ({ port: chosen })),
        });
        process.exitCode = exitCodeForRun(record);
      } finally {
        interrupt.dispose();
      }
    });

  program
    .command("serve")
    .description(
      "Serve a trained model on the local endpoint (default: the latest successful local run's). The endpoint keeps running after the command returns.",
    )
    .option("--run <id>", "serve this local run's model (see `pms runs`); `latest` for the newest successful one")
    .option("--model <path>", "serve this model.tar.gz (or extracted model folder)")
    .option("--port <port>", "port when the endpoint is started (default: its current port, else 8080)", port)
    .option("--stop", "stop the local endpoint's processes")
    .addHelpText("after", "\nExamples:\n  pms serve\n  pms serve --run latest --port 9090\n  pms serve --stop")
    .action(async (options: { run?: string; model?: string; port?: number; stop?: boolean }) => {
      if (options.run && options.model) throw new InvalidArgumentError("pass --run or --model, not both");
      const home = resolvePmsHome(io.env);
      const [{ serveCommand, stopServing, describeServing }, { exampleSession }, config] = await Promise.all([
        import("./serve-command.ts"),
        import("./example-session.ts"),
        deployConfig(),
      ]);
      const endpointName = config.sagemaker.endpointName;
      if (options.stop) {
        await stopServing(home, endpointName);
        io.stdout("The local endpoint is stopped; `pms serve` starts it again.");
        return;
      }
      const state = await serveCommand({
        home,
        endpointName,
        ...(options.run ? { runId: options.run } : {}),
        ...(options.model ? { modelPath: options.model } : {}),
        ...withPort(options.port, io, (chosen) => ({ port: chosen })),
      });
      const runId = state.current?.runId;
      io.stdout(describeServing(state, runId ? await exampleSession(home, runId) : undefined));
    });

  const data = program.command("data").description("Put events into the local warehouse ($PMS_HOME/warehouse.duckdb).");

  data
    .command("generate")
    .description("Generate seeded Coveo-format events with learnable structure, into the local warehouse (or a file).")
    .option("--events <n>", "how many events (1,000 to 50,000,000)", positiveInteger, SAMPLE_EVENTS)
    .option("--seed <n>", "random seed (default 42)", (value) => Number(value))
    .option("--start-date <yyyy-mm-dd>", "first day of the sessions (default 2024-01-01)")
    .option("--days <n>", "days the sessions spread over (default 14)", positiveInteger)
    .option("--out <file>", "write a browsing_train.csv here instead of loading the warehouse")
    .option(
      "--catalog [file]",
      "also write the product catalogue (sku_to_content.csv format: category, price bucket), into the warehouse's raw.products or to this file; evaluation then reports category and price slices",
    )
    .option("--tenant <api-key>", "tenant of the loaded events (default: the configured run tenant)")
    .option("--plain", "plain progress lines")
    .addHelpText(
      "after",
      "\nExamples:\n  pms data generate\n  pms data generate --events 20000 --seed 7 --catalog\n  pms data generate --out browsing_train.csv --catalog sku_to_content.csv",
    )
    .action(
      async (options: {
        events: number;
        seed?: number;
        startDate?: string;
        days?: number;
        out?: string;
        catalog?: string | boolean;
        tenant?: string;
        plain?: boolean;
      }) => {
        const [{ generateCommand }, config] = await Promise.all([import("./data-commands.ts"), deployConfig()]);
        await generateCommand({
          home: resolvePmsHome(io.env),
          events: options.events,
          tenant: options.tenant ?? config.runDefaults.tenant,
          reporter: renderer(options),
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.startDate === undefined ? {} : { startDate: options.startDate }),
          ...(options.days === undefined ? {} : { days: options.days }),
          ...(options.out === undefined ? {} : { out: options.out }),
          ...(options.catalog === undefined ? {} : { catalog: options.catalog }),
        });
      },
    );

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
      "\nExamples:\n  pms data generate --out browsing_train.csv --catalog sku_to_content.csv\n  pms data load browsing_train.csv --format coveo\n  pms data load sku_to_content.csv --format coveo-catalog\n  pms data load yoochoose-clicks.txt --format rsc15 --on-bad-row skip",
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
          reporter: renderer(options),
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
    .description(
      "Print the path of a local run's HTML report (and open it with --open); with --runs, write the runs page: the trend of the gate's metrics across runs.",
    )
    .argument("[run]", "run id (see `pms runs`); `latest` for the newest run", "latest")
    .option("--runs", "write $PMS_HOME/runs.html: every run, and each gate check's value and threshold across runs")
    .option("--open", "open the report in the default browser")
    .addHelpText("after", "\nExamples:\n  pms report latest\n  pms report --runs")
    .action(async (runId: string, options: { open?: boolean; runs?: boolean }) => {
      const home = resolvePmsHome(io.env);
      if (options.runs) {
        const { writeRunsReport } = await import("./runs-report.ts");
        const written = await writeRunsReport(home);
        io.stdout(written.path);
        if (options.open) openInBrowser(written.path, io);
        return;
      }
      const record = runId === "latest" ? (await listRunRecords(home))[0] : await readRunRecord(home, runId);
      if (!record) throw new RunNotFoundError(runId, home);
      if (!record.reportUri)
        throw new Error(
          `Run ${record.runId} has no report (it ${record.status === "failed" ? `failed in "${record.error?.state}"` : `is ${record.status}`} before evaluation).`,
        );
      io.stdout(record.reportUri);
      if (options.open) openInBrowser(record.reportUri, io);
    });

  program
    .command("doctor")
    .description(
      "Check what a first run needs: Node.js version, Chromium for the report's browser test, a free endpoint port, AWS credentials and region, and what the warehouse holds.",
    )
    .option("--port <port>", "the endpoint port to check (default 8080)", port)
    .action(async (options: { port?: number }) => {
      const [{ runDoctor, formatDoctor }, config] = await Promise.all([import("./doctor.ts"), deployConfig()]);
      const checks = await runDoctor({
        home: resolvePmsHome(io.env),
        tenant: config.runDefaults.tenant,
        env: io.env,
        ...withPort(options.port, io, (chosen) => ({ port: chosen })),
      });
      io.stdout(formatDoctor(checks));
      if (checks.some((check) => check.level === "fail")) process.exitCode = EXIT_CODES.failed;
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

function openInBrowser(path: string, io: CliIo): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  spawn(opener, [path], { detached: true, stdio: "ignore" })
    .on("error", () => {
      io.stderr.write(`Could not start ${opener}; open ${path} in a browser.\n`);
    })
    .unref();
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

/**
 * Turns an error into the one message a user needs: its message, without the class name or a stack
 * trace (PMS_DEBUG=1 adds the stack, for a bug report).
 */
export function describeCliError(error: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (!(error instanceof Error)) return String(error);
  if (env.PMS_DEBUG && error.stack) return error.stack;
  if (error instanceof InvalidExecutionInputError) return error.message;
  return error.message;
}
