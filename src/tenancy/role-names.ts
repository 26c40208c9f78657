import { isRole, ROLES, type Role, SYSTEM_TENANT } from '../access/roles.ts';
import { TesseraError } from '../platform/errors.ts';
import { TenancyErrors } from './errors.ts';

// The role list belongs to the access domain; these names keep the tenancy code's words.
export const KNOWN_ROLES = ROLES;
export type RoleName = Role;

export function isKnownRole(value: unknown): value is RoleName {
  return typeof value === 'string' && isRole(value);
}

/** The tenant whose `admin` members are the platform administrators. */
export const SYSTEM_TENANT_ID = SYSTEM_TENANT;

/** Memberships store roles as a JSON array; a name no longer known is dropped, so it never grants anything. */
export function parseRoles(text: string): RoleName[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter(isKnownRole) : [];
}

/**
 * At least one role, each a known one; duplicates dropped and the order made
 * canonical, so equal role sets are stored as equal JSON. Throws 400 `invalid_roles`.
 */
export function normalizeRoles(roles: readonly string[]): RoleName[] {
  const unknown = roles.filter((role) => !isKnownRole(role));
  if (unknown.length > 0 || roles.length === 0) {
    const problem = unknown.length
      ? `unknown role ${unknown.map((role) => JSON.stringify(role)).join(', ')}`
      : 'at least one role is required';
    throw new TesseraError(
      TenancyErrors.invalid_roles,
      `${problem} (roles: ${KNOWN_ROLES.join(', ')})`,
    );
  }
  return KNOWN_ROLES.filter((role) => roles.includes(role));
}
