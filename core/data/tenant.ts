/**
 * What a tenant (the raw contract's `api_key`) may be: it is written into SQL as a literal by the
 * dbt project and carried in file and resource names, so one strict pattern, checked by "Prepare
 * the run" and by every loader, keeps quotes, backslashes and separators out of all of them.
 */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const TENANT_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters';

/** Why a tenant is refused, or undefined when it is valid. */
export function tenantProblem(tenant: string): string | undefined {
  return TENANT_PATTERN.test(tenant) ? undefined : `"${tenant}" is not a tenant: use ${TENANT_RULE}`;
}

/** A tenant the loaders refuse before reading a line; nothing is written. */
export class InvalidTenantError extends Error {
  override readonly name = "InvalidTenant";
}

export function requireTenant(tenant: string, source: string): string {
  const problem = tenantProblem(tenant);
  if (problem) throw new InvalidTenantError(`${source}: ${problem}`);
  return tenant;
}
