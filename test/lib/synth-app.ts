import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadDeployConfig } from "../../lib/config.ts";
import { FUNCTION_ENTRIES, type FunctionName } from "../../lib/constructs/pipeline-lambdas.ts";
import { PipelineStack, TRAINING_IMAGE_CONTEXT } from "../../lib/pipeline-stack.ts";
import { projectPath } from "../../lib/project-paths.ts";

/** The context of cdk.json: the feature flags and the default `pms` configuration, as `cdk synth` sees them. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(projectPath("cdk.json"), "utf8")) as { context: Record<string, unknown> }).context;
}

/**
 * Template tests skip esbuild (`aws:cdk:bundling-stacks: []`): the template is the same, and
 * bundling 14 functions per test file would cost a minute. Handlers other rooms have not written
 * yet are stood in for by prepare-run's entry so the template can still be asserted; the
 * "every handler entry exists" test fails loudly while any is missing.
 */
export function functionEntriesForTemplateTests(): Record<FunctionName, string> {
  return Object.fromEntries(
    Object.entries(FUNCTION_ENTRIES).map(([name, entry]) => [
      name,
      existsSync(projectPath(entry)) ? entry : FUNCTION_ENTRIES.prepareRun,
    ]),
  ) as Record<FunctionName, string>;
}

/** Same for the training image's Dockerfile, which the model room writes. */
export function trainingImageForTemplateTests() {
  return existsSync(join(TRAINING_IMAGE_CONTEXT.directory, TRAINING_IMAGE_CONTEXT.file))
    ? TRAINING_IMAGE_CONTEXT
    : { directory: projectPath("test/lib/fixtures"), file: "training-image/Dockerfile", include: ["training-image"] };
}

export interface SynthesizedPipeline {
  readonly stack: PipelineStack;
  readonly template: Template;
  /** Findings left unacknowledged (cdk-nag and CloudFormation schema checks): rule id → construct paths. */
  readonly nagViolations: ReadonlyMap<string, readonly string[]>;
  /** cdk-nag findings acknowledged: rule id (with its finding) → how many resources. */
  readonly nagAcknowledged: ReadonlyMap<string, number>;
}

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly violations: readonly {
      readonly ruleName: string;
      readonly violatingConstructs: readonly { readonly constructPath: string }[];
    }[];
  }[];
}

/** Records every acknowledgement cdk-nag actually uses, so the test can count them. */
class CountingAwsSolutionsChecks extends AwsSolutionsChecks {
  readonly acknowledged = new Map<string, number>();
  constructor(app: App) {
    super(app);
    const checks = this as unknown as { isAcknowledged: (node: unknown, ruleId: string) => boolean };
    const isAcknowledged = checks.isAcknowledged.bind(this);
    checks.isAcknowledged = (node, ruleId) => {
      const result = isAcknowledged(node, ruleId);
      if (result) this.acknowledged.set(ruleId, (this.acknowledged.get(ruleId) ?? 0) + 1);
      return result;
    };
  }
}

/** Synthesizes the whole app the way bin/app.ts does (without an environment: AZ lookups need AWS). */
export function synthesizePipeline(
  contextOverrides: Record<string, unknown> = {},
  env?: { readonly region: string },
): SynthesizedPipeline {
  const outdir = mkdtempSync(join(tmpdir(), "pms-cdk-"));
  const app = new App({
    outdir,
    // bin/app.ts skips CDK's CloudFormation schema check for speed; the template test keeps it.
    builtinCloudFormationValidation: true,
    context: {
      ...cdkJsonContext(),
      ...contextOverrides,
      "aws:cdk:bundling-stacks": [],
      // Schema problems fail the synth (they are only warnings by default).
      "@aws-cdk/core:validateAgainstDefaultRules": true,
    },
  });
  const stack = new PipelineStack(app, "PostModernStack", {
    // A region alone needs no AWS lookup (an account too would make the VPC look up its zones).
    ...(env ? { env } : {}),
    config: loadDeployConfig(app),
    functionEntries: functionEntriesForTemplateTests(),
    trainingImage: trainingImageForTemplateTests(),
  });
  const checks = new CountingAwsSolutionsChecks(app);
  Validations.of(app).addPlugins(checks);
  const nagViolations = new Map<string, string[]>();
  try {
    app.synth();
  } catch (error) {
    const reportPath = join(outdir, "validation-report.json");
    if (!existsSync(reportPath)) throw error;
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as ValidationReport;
    for (const violation of report.pluginReports.flatMap((plugin) => plugin.violations)) {
      nagViolations.set(
        violation.ruleName,
        violation.violatingConstructs.map((construct) => construct.constructPath),
      );
    }
  }
  // Read the template from the assembly: a failed validation leaves it written but not cached.
  const template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, stack.templateFile), "utf8")));
  return { stack, template, nagViolations, nagAcknowledged: checks.acknowledged };
}

/** The logical id CloudFormation gives a construct's resource. */
export function logicalId(construct: { node: { defaultChild?: unknown } } | object): string {
  const element = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return Stack.of(construct as never).getLogicalId(element as never);
}
