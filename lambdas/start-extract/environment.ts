import { S3Client } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "../../core/artifacts/s3.ts";
import { parsePositiveInteger } from "../../core/deploy/settings.ts";
import { parseSnowflakeKeySecret, SnowflakeWarehouse } from "../../core/warehouse/snowflake.ts";
import { requireEnv } from "../shared/env.ts";
import { readSecret } from "../shared/secrets.ts";
import type { ExtractDependencies } from "./handler.ts";

/**
 * The cloud adapters of "Start the extract" and "Check the extract", from their environment (read
 * once, at cold start). The private key is read from Secrets Manager at the first connection.
 */
export function extractDependenciesFromEnvironment(env: NodeJS.ProcessEnv = process.env): ExtractDependencies {
  const secretId = requireEnv("SNOWFLAKE_PRIVATE_KEY_SECRET_ID", env);
  const warehouse = new SnowflakeWarehouse(
    {
      account: requireEnv("SNOWFLAKE_ACCOUNT", env),
      username: requireEnv("SNOWFLAKE_USER", env),
      role: requireEnv("SNOWFLAKE_ROLE", env),
      warehouse: requireEnv("SNOWFLAKE_WAREHOUSE", env),
      database: requireEnv("SNOWFLAKE_DATABASE", env),
      schema: requireEnv("SNOWFLAKE_SCHEMA", env),
    },
    { key: async () => parseSnowflakeKeySecret(await readSecret(secretId), secretId) },
  );
  return {
    warehouse,
    store: new S3ArtifactStore(new S3Client({})),
    stage: requireEnv("SNOWFLAKE_UNLOAD_STAGE", env),
    timeoutSeconds: parsePositiveInteger(
      requireEnv("SNOWFLAKE_EXTRACT_TIMEOUT_SECONDS", env),
      "SNOWFLAKE_EXTRACT_TIMEOUT_SECONDS",
    ),
  };
}
