import { isCustomRoleName, isRole, ROLES, SYSTEM_TENANT } from '../access/roles.ts';
import { TesseraError } from '../platform/errors.ts';
import { TenancyErrors } from './errors.ts';

// The role list belongs to the access domain; these names keep the tenancy code's words.
export const KNOWN_ROLES = ROLES;
/** A built-in role or one of a tenant's custom roles; which exist is the RolePolicy's call. */
export type RoleName = string;

/** A built-in role's name. */
export function isKnownRole(value: unknown): value is RoleName {
  return typeof value === 'string' && isRole(value);
}

/** The tenant whose `admin` members are the platform administrators. */
export const SYSTEM_TENANT_ID = SYSTEM_TENANT;

function isRoleName(value: unknown): value is RoleName {
  return typeof value === 'string' && (isRole(value) || isCustomRoleName(value));
}

/** A stored JSON array of role names as it is: every string kept, whatever its shape. */
export function parseStoredRoles(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : [];
}

/**
 * Memberships store roles as a JSON array. Custom role names are kept whether or not
 * the role still exists: one that does not grants nothing (access/roles.ts), and
 * `GET /roles` never lists it. Anything not shaped like a role name is dropped.
 */
export function parseRoles(text: string): RoleName[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter(isRoleName) : [];
}

/**
 * Duplicates dropped and the order made canonical (built-ins in their order, then
 * custom names sorted), so equal role sets are stored as equal JSON. Checks only the
 * shape of the names; `RolePolicy.normalize` also checks that they exist.
 */
export function canonicalRoles(roles: readonly string[]): RoleName[] {
  const builtIn = KNOWN_ROLES.filter((role) => roles.includes(role));
  const custom = [...new Set(roles.filter(isCustomRoleName))].sort();
  return [...builtIn, ...custom];
}

/** 400 `invalid_roles` naming the problem and the roles there are. */
export function invalidRoles(unknown: readonly string[]): TesseraError {
  const problem = unknown.length
    ? `unknown role ${unknown.map((role) => JSON.stringify(role)).join(', ')}`
    : 'at least one role is required';
  return new TesseraError(
    TenancyErrors.invalid_roles,
    `${problem} (built-in roles: ${KNOWN_ROLES.join(', ')}; GET /api/v1/roles lists the tenant’s own)`,
    { extensions: { roles: [...unknown] } },
  );
}

/**
 * At least one role, each a built-in one; canonical order. Throws 400 `invalid_roles`.
 * For callers without a tenant's custom roles at hand (the CLI); the rest use RolePolicy.
 */
export function normalizeRoles(roles: readonly string[]): RoleName[] {
  const unknown = roles.filter((role) => !isKnownRole(role));
  if (unknown.length > 0 || roles.length === 0) throw invalidRoles(unknown);
  return canonicalRoles(roles);
}
