import type { z } from "zod";

/**
 * The payload a Task received does not have the shape its handler expects: the state machine and
 * the handler disagree (a wiring bug, not a user's input), so the message names every field.
 */
export class InvalidTaskEventError extends Error {
  override readonly name = "InvalidTaskEvent";
  constructor(
    readonly task: string,
    readonly problems: string,
    options?: ErrorOptions,
  ) {
    super(`"${task}" received a payload it cannot use:\n${problems}`, options);
  }
}

/** Parses a Task's payload with its zod schema; the error lists paths and messages, never values. */
export function parseTaskEvent<Schema extends z.ZodType>(
  schema: Schema,
  event: unknown,
  task: string,
): z.output<Schema> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(payload)"}: ${issue.message}`)
    .join("\n");
  throw new InvalidTaskEventError(task, problems);
}
