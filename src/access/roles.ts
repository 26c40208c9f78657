import { type Permission, PLATFORM_PERMISSIONS, TENANT_PERMISSIONS } from './permissions.ts';

export const ROLES = [
  'admin',
  'developer',
  'operator',
  'auditor',
  'viewer',
  'service',
  'guest',
] as const;
export type Role = (typeof ROLES)[number];

export const SYSTEM_TENANT = 'system';

/**
 * The built-in roles, the same in every tenant and never changed by one; tenants add
 * custom roles beside them. ARCHITECTURE.md's starting set, plus `users:read` for
 * auditors. docs/identity.md lists them.
 */
export const BUILT_IN_ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: TENANT_PERMISSIONS,
  developer: [
    'events:read',
    'events:write',
    'schemas:manage',
    'projections:manage',
    'pipelines:manage',
    'metrics:read',
  ],
  operator: ['events:read', 'events:write'],
  // users:read: the trail names users by id; an auditor must be able to tell who they are.
  auditor: ['events:read', 'audit:read', 'audit:verify', 'metrics:read', 'users:read'],
  viewer: ['events:read', 'metrics:read'],
  service: ['events:read', 'events:write'],
  guest: [],
};

export const BUILT_IN_ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  admin: 'Everything in the tenant.',
  developer: 'Events, schemas, projections, pipelines and metrics.',
  operator: 'Reads and writes events.',
  auditor: 'Reads events, metrics, the users and the audit trail, and verifies it.',
  viewer: 'Reads events and metrics.',
  service: 'Reads and writes events; meant for API keys.',
  guest: 'Nothing beyond the public endpoints.',
};

/**
 * A custom role's name: a lower-case slug. No `_`, `%` or quote, so a name can be
 * matched inside the stored JSON role arrays with LIKE without escaping.
 */
export const CUSTOM_ROLE_NAME_PATTERN = '^[a-z][a-z0-9-]{0,62}$';
const CUSTOM_ROLE_NAME = new RegExp(CUSTOM_ROLE_NAME_PATTERN);

/** A tenant's custom roles: name → the permissions each grants. */
export type CustomRolePermissions = ReadonlyMap<string, readonly Permission[]>;

const NO_CUSTOM_ROLES: CustomRolePermissions = new Map();

export function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}

/** Shaped like a custom role's name and not a built-in one; says nothing about existing. */
export function isCustomRoleName(name: string): boolean {
  return CUSTOM_ROLE_NAME.test(name) && !isRole(name);
}

/**
 * What `roles` allow in `tenantId`, given that tenant's custom roles. An admin of the
 * system tenant is a platform administrator and also holds the platform permissions;
 * nobody else ever does. A name that is neither built in nor in `custom` (a deleted
 * custom role, another tenant's) grants nothing.
 */
export function permissionsOf(
  roles: readonly string[],
  tenantId: string,
  custom: CustomRolePermissions = NO_CUSTOM_ROLES,
): ReadonlySet<Permission> {
  const granted = new Set<Permission>();
  for (const role of roles) {
    const permissions = isRole(role) ? BUILT_IN_ROLE_PERMISSIONS[role] : custom.get(role);
    for (const permission of permissions ?? []) granted.add(permission);
    if (role === 'admin' && tenantId === SYSTEM_TENANT) {
      for (const permission of PLATFORM_PERMISSIONS) granted.add(permission);
    }
  }
  return granted;
}

/** True when `role` grants nothing beyond `held` (no escalation through delegation). */
export function roleWithin(role: Role, held: ReadonlySet<Permission>): boolean {
  return BUILT_IN_ROLE_PERMISSIONS[role].every((permission) => held.has(permission));
}
