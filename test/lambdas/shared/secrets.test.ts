import { clearCaches } from "@aws-lambda-powertools/parameters";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { readSecret, SecretUnavailableError } from "../../../lambdas/shared/secrets.ts";

const secretsManager = mockClient(SecretsManagerClient);

beforeEach(() => {
  secretsManager.reset();
  clearCaches();
});

afterAll(() => {
  secretsManager.restore();
});

describe("readSecret", () => {
  it("reads the SecretString once and serves it from the container cache afterwards", async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand, { SecretId: "pms/dbt-cloud-token" })
      .resolves({ SecretString: "dbtc_abc" });

    // Act
    const first = await readSecret("pms/dbt-cloud-token");
    const second = await readSecret("pms/dbt-cloud-token");

    // Assess
    expect([first, second]).toEqual(["dbtc_abc", "dbtc_abc"]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("reads again when forced, e.g. after a rotation", async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "old" })
      .resolvesOnce({ SecretString: "new" });

    // Act
    const first = await readSecret("pms/rotated");
    const second = await readSecret("pms/rotated", { forceFetch: true });

    // Assess
    expect([first, second]).toEqual(["old", "new"]);
  });

  it("names the secret, not its value, when it cannot be read", async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).rejects(new Error("User is not authorized to perform GetSecretValue"));

    // Act
    const error = await readSecret("pms/forbidden").catch((caught: Error) => caught);

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).name).toBe("SecretUnavailable");
    expect((error as Error).message).toContain('"pms/forbidden"');
    expect((error as Error).message).toContain("not authorized");
  });

  it("refuses an empty or binary secret", async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand, { SecretId: "pms/empty" })
      .resolves({ SecretString: "  " })
      .on(GetSecretValueCommand, { SecretId: "pms/binary" })
      .resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });

    // Act
    const empty = await readSecret("pms/empty").catch((caught: Error) => caught);
    const binary = await readSecret("pms/binary").catch((caught: Error) => caught);

    // Assess
    expect((empty as Error).message).toContain("is empty");
    expect((binary as Error).message).toContain("binary");
  });
});
