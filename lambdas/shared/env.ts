/** Thrown at cold start when the function was deployed without a setting it needs. */
export class MissingEnvironmentError extends Error {
  override readonly name = "MissingEnvironment";
  constructor(readonly variable: string) {
    super(`Environment variable ${variable} is not set: the stack sets it on the function; redeploy or set it.`);
  }
}

/** Reads a required setting once, at module scope, so a misconfigured function fails at its first call. */
export function requireEnv(variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (value === undefined || value === "") throw new MissingEnvironmentError(variable);
  return value;
}

export function optionalEnv(variable: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  return value === undefined || value === "" ? fallback : value;
}
