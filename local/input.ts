import { readFile } from "node:fs/promises";

export class InputArgumentError extends Error {
  override readonly name = "InputArgumentError";
}

/**
 * `--input` takes inline JSON or a path to a JSON file, like the console's input box or a saved
 * input. Returns the raw value; the execution-input schema validates it.
 */
export async function readInputArgument(value: string | undefined): Promise<unknown> {
  if (value === undefined || value.trim() === "") return {};
  const trimmed = value.trim();
  let text = trimmed;
  let source = "--input";
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) {
    try {
      text = await readFile(trimmed, "utf8");
      source = trimmed;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new InputArgumentError(
        missing
          ? `--input "${value}": no such file. Pass inline JSON (starting with "{"), e.g. --input '{"deploy": "skip"}', or the path of a JSON file.`
          : `--input "${value}" is neither JSON (it must start with "{") nor a readable file: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputArgumentError(
      `${source} is not valid JSON (${(error as Error).message}). Example: --input '{"window": {"start": "2014-04-01", "end": "2014-04-07"}}'`,
      { cause: error },
    );
  }
}
