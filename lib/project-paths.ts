import { fileURLToPath } from "node:url";

/** The repository root, so synthesis finds handlers and the training image from any working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export function projectPath(relative: string): string {
  return fileURLToPath(new URL(relative, new URL("..", import.meta.url)));
}
