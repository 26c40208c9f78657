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
  'api_keys:manage',
  // Held only by administrators of the `system` tenant: the platform operators.
  'platform:tenants',
  'platform:backups',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const PLATFORM_PERMISSIONS: readonly Permission[] = ['platform:tenants', 'platform:backups'];
