import type { Tag } from "@aws-sdk/client-sagemaker";

/** SageMaker names (models, endpoint configs, endpoints): `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`. */
export const SAGEMAKER_NAME_MAX_LENGTH = 63;

/** Blue/green updates require the new endpoint config to keep the variant name of the old one. */
export const VARIANT_NAME = "AllTraffic";

export class InvalidResourceNameError extends Error {
  override readonly name = "InvalidResourceName";
}

/**
 * The name of one deployment's model and endpoint config: `<endpoint>-<shortId>`, cut to fit 63
 * characters. The run's shortId stays whole so two runs never collide; the endpoint part is
 * shortened instead, and the shared prefix is how clean-up finds a deployment's resources.
 */
export function deploymentResourceName(endpointName: string, shortId: string): string {
  if (!/^[a-z0-9](-*[a-z0-9])*$/i.test(shortId) || shortId.length > 24) {
    throw new InvalidResourceNameError(
      `run shortId "${shortId}" must be 1-24 letters, digits or inner hyphens (PrepareRun makes it)`,
    );
  }
  const room = SAGEMAKER_NAME_MAX_LENGTH - shortId.length - 1;
  const prefix = endpointName.slice(0, room).replace(/-+$/, "");
  const name = `${prefix}-${shortId}`;
  assertSageMakerName(name, "deployment resource name");
  return name;
}

/** The prefix every deployment resource of `endpointName` starts with (see deploymentResourceName). */
export function deploymentResourcePrefix(endpointName: string, shortIdLength: number): string {
  return `${endpointName.slice(0, SAGEMAKER_NAME_MAX_LENGTH - shortIdLength - 1).replace(/-+$/, "")}-`;
}

export function assertSageMakerName(name: string, what: string): void {
  if (name.length === 0 || name.length > SAGEMAKER_NAME_MAX_LENGTH || !/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(name)) {
    throw new InvalidResourceNameError(
      `${what} "${name}" is not a valid SageMaker name: 1-63 letters, digits and inner hyphens`,
    );
  }
}

/** Model package customer metadata accepts letters, digits, spaces and `_.:/=+-@` only, ≤ 256 characters. */
export function metadataValue(text: string): string {
  const cleaned = text
    .replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return (cleaned.length > 0 ? cleaned : "-").slice(0, 256);
}

/** Tag values accept the same characters as metadata; tags go on every resource a deployment creates. */
export function toTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value: metadataValue(Value) }));
}
