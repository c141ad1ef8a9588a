import { getSecret } from "@aws-lambda-powertools/parameters/secrets";

/**
 * How long a secret value is reused inside one Lambda container. Long enough that a warm function
 * polling every minute reads Secrets Manager a few times an hour, short enough that a rotated token
 * reaches every container within minutes.
 */
export const SECRET_MAX_AGE_SECONDS = 300;

/** Thrown when a secret cannot be read or holds no usable text. Never carries the secret's value. */
export class SecretUnavailableError extends Error {
  override readonly name = "SecretUnavailable";
  constructor(
    readonly secretId: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Secrets Manager secret "${secretId}" ${reason}`, options);
  }
}

export interface ReadSecretOptions {
  /** @default SECRET_MAX_AGE_SECONDS */
  readonly maxAgeSeconds?: number;
  /** Bypass the container cache, e.g. after the service rejected the cached value. @default false */
  readonly forceFetch?: boolean;
}

/**
 * The text of a Secrets Manager secret, cached per container by Powertools Parameters. Used for the
 * dbt Cloud service token and the Snowflake key-pair private key; callers parse the text themselves.
 */
export async function readSecret(secretId: string, options: ReadSecretOptions = {}): Promise<string> {
  let value: string | Uint8Array | undefined;
  try {
    value = await getSecret(secretId, {
      maxAge: options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS,
      forceFetch: options.forceFetch ?? false,
    });
  } catch (error) {
    // Powertools wraps the SDK error (AccessDenied, ResourceNotFound...); its message names the
    // secret and the reason, never the value, so it is safe to keep as the cause.
    throw new SecretUnavailableError(
      secretId,
      "could not be read: check that it exists in this account and region and that the function's role may read it " +
        `(${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  }
  if (typeof value !== "string")
    throw new SecretUnavailableError(
      secretId,
      value === undefined ? "has no value" : "holds binary data: store the value as SecretString text",
    );
  if (value.trim() === "") throw new SecretUnavailableError(secretId, "is empty: put the value in its SecretString");
  return value;
}
