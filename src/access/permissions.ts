/**
 * Every permission a route can require. A route declares exactly one; a principal
 * holds the union of its roles' permissions. Names are `resource:action`.
 */
export const PERMISSIONS = [
  'events:read',
  'events:write',
  'schemas:manage',
  'projections:manage',
  'pipelines:manage',
  'metrics:read',
  'audit:read',
  'audit:verify',
  'tenant:read',
  'tenant:manage',
  'members:manage',
  'users:read',
  'users:manage',
  'teams:manage',
  'roles:manage',
  'api_keys:manage',
  'clients:manage',
  'sso:manage',
  'webhooks:manage',
  'network:manage',
  // Held only by administrators of the `system` tenant: the platform operators.
  'platform:tenants',
  'platform:backups',
  'platform:network',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const PLATFORM_PERMISSIONS: readonly Permission[] = [
  'platform:tenants',
  'platform:backups',
  'platform:network',
];

/** What a role of a tenant may grant, built-in or custom: everything but the platform's. */
export const TENANT_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter(
  (permission) => !PLATFORM_PERMISSIONS.includes(permission),
);

export function isTenantPermission(name: string): name is Permission {
  return (TENANT_PERMISSIONS as readonly string[]).includes(name);
}

/** The catalogue `GET /api/v1/permissions` serves: one line each, for people choosing a role. */
export const PERMISSION_DESCRIPTIONS: Readonly<Record<Permission, string>> = {
  'events:read': 'Read, query and subscribe to the tenant’s events, entities and state.',
  'events:write': 'Append events and take snapshots.',
  'schemas:manage': 'Register and change event schemas.',
  'projections:manage': 'Create, change and rebuild projections.',
  'pipelines:manage': 'Create and change pipelines.',
  'metrics:read': 'Read the tenant’s usage and statistics.',
  'audit:read': 'Read and search the tenant’s audit trail.',
  'audit:verify': 'Verify the audit trail’s hash chain.',
  'tenant:read': 'Read the tenant’s settings.',
  'tenant:manage': 'Change the tenant’s settings.',
  'members:manage': 'Add members, change their roles and remove them.',
  'users:read': 'List and read the tenant’s users.',
  'users:manage': 'Create, change, deactivate and remove the tenant’s users.',
  'teams:manage': 'Create, change and delete teams and their members.',
  'roles:manage': 'Create, change and delete the tenant’s custom roles.',
  'api_keys:manage': 'Create, list and revoke the tenant’s API keys.',
  'clients:manage':
    'Register, list, change and delete the tenant’s OAuth clients and rotate their secrets.',
  'sso:manage':
    'Add, change, test and delete the tenant’s single sign-on connections (OpenID Connect, SAML) and their email domains.',
  'webhooks:manage':
    'Add, change, replay, test and delete the tenant’s webhook endpoints and read their delivery log (an endpoint receiving events or platform events also needs events:read or audit:read).',
  'network:manage': 'Manage the tenant’s IP allow and block lists.',
  'platform:tenants': 'Create, suspend and delete tenants (platform administrators only).',
  'platform:backups': 'Back up and restore the deployment (platform administrators only).',
  'platform:network':
    'Manage the global IP allow and block lists and every account lockout (platform administrators only).',
};
