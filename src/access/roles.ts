import { PERMISSIONS, type Permission, PLATFORM_PERMISSIONS } from './permissions.ts';

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

const TENANT_PERMISSIONS = PERMISSIONS.filter((p) => !PLATFORM_PERMISSIONS.includes(p));

/** The starting set from ARCHITECTURE.md; custom roles per tenant come later. */
const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
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
  auditor: ['events:read', 'audit:read', 'audit:verify', 'metrics:read'],
  viewer: ['events:read', 'metrics:read'],
  service: ['events:read', 'events:write'],
  guest: [],
};

export function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}

/**
 * What `roles` allow in `tenantId`. An admin of the system tenant is a platform
 * administrator and also holds the platform permissions; nobody else ever does.
 */
export function permissionsOf(roles: readonly string[], tenantId: string): ReadonlySet<Permission> {
  const granted = new Set<Permission>();
  for (const role of roles) {
    if (!isRole(role)) continue;
    for (const permission of ROLE_PERMISSIONS[role]) granted.add(permission);
    if (role === 'admin' && tenantId === SYSTEM_TENANT) {
      for (const permission of PLATFORM_PERMISSIONS) granted.add(permission);
    }
  }
  return granted;
}

/** True when `role` grants nothing beyond `held` (no escalation through delegation). */
export function roleWithin(role: Role, held: ReadonlySet<Permission>): boolean {
  return ROLE_PERMISSIONS[role].every((permission) => held.has(permission));
}
