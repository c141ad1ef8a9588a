import { readFileSync } from "node:fs";
import { build } from "esbuild";
import { projectPath } from "../../lib/project-paths.ts";

/**
 * The AWS calls a Lambda entry can make, read from its code: the project files the entry reaches
 * (esbuild's import graph, packages left out), cut into units (top-level functions, class methods,
 * and the code outside them), and the units reachable from the entry file by name: a function when
 * a reached unit names it, a method when a reached unit calls `.name(`. In the reached units, every
 * `new <Name>Command(` sent, every `paginate<Name>(` and every Powertools `getSecret(` is a call. So check-deployment, which
 * reaches the SageMaker model host for `status`, does not count the host's `deploy`. Names collide
 * (two classes' `get`), which can only add calls, never hide one. Written by hand because no
 * library reads "which SDK commands can this handler send" from source.
 */
export async function sdkCallsOf(entry: string): Promise<Set<string>> {
  const result = await build({
    entryPoints: [projectPath(entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  const entryPath = Object.keys(result.metafile.inputs).find((path) => projectPath(path) === projectPath(entry));
  const units = Object.keys(result.metafile.inputs)
    .filter((path) => path.endsWith(".ts"))
    .flatMap((path) => unitsOf(path, readFileSync(projectPath(path), "utf8")));
  const reached = new Set<Unit>(units.filter((unit) => unit.kind === "module" || unit.file === entryPath));
  const queue = [...reached];
  while (queue.length > 0) {
    const unit = queue.shift() as Unit;
    for (const candidate of units) {
      if (reached.has(candidate)) continue;
      const named =
        candidate.kind === "function"
          ? unit.identifiers.has(candidate.name)
          : candidate.kind === "method" &&
            (unit.methodCalls.has(candidate.name) ||
              unit.constructedCalls.has(`${candidate.className}.${candidate.name}`));
      if (named) {
        reached.add(candidate);
        queue.push(candidate);
      }
    }
  }
  return new Set([...reached].flatMap((unit) => unit.commands));
}

interface Unit {
  readonly file: string;
  /** `module`: the code outside functions and methods (runs on import), constructors included. */
  readonly kind: "module" | "function" | "method";
  readonly name: string;
  /** A method's class. */
  readonly className?: string;
  readonly commands: readonly string[];
  readonly identifiers: ReadonlySet<string>;
  /** `.name(` on any receiver. */
  readonly methodCalls: ReadonlySet<string>;
  /** `new Class(…).name(`: only that class's method. */
  readonly constructedCalls: ReadonlySet<string>;
}

const FUNCTION_HEADER = /^(?:export\s+)?(?:async\s+)?function\*?\s+([A-Za-z_]\w*)/gm;
// A class member at two spaces' indent; an interface's signature (ending in ";") is not one.
const METHOD_HEADER =
  /^ {2}(?:(?:public|private|protected|static|async|override|get|set)\s+)*([A-Za-z_]\w*)(?:<[^(]*>)?\([^;\n]*$/gm;
/** A class's body: from its header to the first `}` alone at the start of a line. */
const CLASS_BODY = /^(?:export\s+)?(?:abstract\s+)?class\s+(\w+)[^\n]*\n[\s\S]*?^\}/gm;
const CONSTRUCTED_CALL = /\bnew ([A-Z]\w*)\([^()]*\)\.([A-Za-z_]\w*)\(/g;

/** Import and re-export statements name what a file may use, not what it calls: they are left out. */
const IMPORTS = /^(?:import|export)\s[^;]*?\sfrom\s+["'][^"']+["'];?/gms;

function unitsOf(file: string, source: string): Unit[] {
  const text = source.replace(IMPORTS, (statement) => statement.replace(/[^\n]/g, " "));
  const classBodies = [...text.matchAll(CLASS_BODY)].map((match) => ({
    name: match[1] as string,
    start: match.index,
    end: match.index + match[0].length,
  }));
  const classAt = (index: number) => classBodies.find((body) => index > body.start && index < body.end)?.name;
  const headers = [
    ...[...text.matchAll(FUNCTION_HEADER)].map((match) => ({
      index: match.index,
      name: match[1] as string,
      kind: "function" as const,
    })),
    ...[...text.matchAll(METHOD_HEADER)]
      .filter((match) => classAt(match.index) !== undefined)
      .map((match) => ({
        index: match.index,
        name: match[1] as string,
        kind: "method" as const,
        className: classAt(match.index),
      })),
  ].sort((a, b) => a.index - b.index);
  const unit = (kind: Unit["kind"], name: string, body: string, className?: string): Unit => ({
    file,
    kind,
    name,
    ...(className ? { className } : {}),
    commands: [
      ...[...body.matchAll(/\bnew ([A-Z]\w*)Command\(/g)].map((match) => match[1] as string),
      // A paginator sends its list command page by page.
      ...[...body.matchAll(/\bpaginate([A-Z]\w*)\(/g)].map((match) => match[1] as string),
      ...(/\bgetSecret\(/.test(body) ? ["getSecret"] : []),
    ],
    identifiers: new Set([...body.matchAll(/\b([A-Za-z_]\w*)\b/g)].map((match) => match[1] as string)),
    methodCalls: new Set(
      [...body.replace(CONSTRUCTED_CALL, "").matchAll(/\.([A-Za-z_]\w*)\(/g)].map((match) => match[1] as string),
    ),
    constructedCalls: new Set([...body.matchAll(CONSTRUCTED_CALL)].map((match) => `${match[1]}.${match[2]}`)),
  });
  const units: Unit[] = [unit("module", "", text.slice(0, headers[0]?.index ?? text.length))];
  headers.forEach((header, index) => {
    const body = text.slice(header.index, headers[index + 1]?.index ?? text.length);
    // A constructor runs whenever its class is used: it counts as the module's own code.
    units.push(
      header.name === "constructor"
        ? unit("module", "", body)
        : unit(header.kind, header.name, body, "className" in header ? header.className : undefined),
    );
  });
  return units;
}
