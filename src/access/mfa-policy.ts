import type { Permission } from './permissions.ts';

/** A tenant's `mfa_required`: nobody, its administrators, or everyone needs a second factor. */
export const MFA_POLICIES = ['off', 'admins', 'all'] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

/**
 * What makes a member an administrator for the `admins` policy: any permission over
 * who may do what (members, users, roles, API keys, OAuth clients, network rules, the tenant's own
 * settings), over where its data is sent (webhooks) or over the platform. Judged by permissions rather than role names, so a
 * custom role granting `members:manage` counts as an admin too.
 */
export const ADMINISTRATIVE_PERMISSIONS: readonly Permission[] = [
  'tenant:manage',
  'members:manage',
  'users:manage',
  'roles:manage',
  'api_keys:manage',
  'clients:manage',
  'sso:manage',
  // An endpoint sends the tenant's events and audit trail out of Tessera.
  'webhooks:manage',
  'network:manage',
  'platform:tenants',
  'platform:backups',
  'platform:network',
];

/** Whether the tenant's policy asks a member holding `permissions` for a second factor. */
export function mfaPolicyCovers(policy: MfaPolicy, permissions: ReadonlySet<Permission>): boolean {
  if (policy === 'all') return true;
  if (policy === 'off') return false;
  return ADMINISTRATIVE_PERMISSIONS.some((permission) => permissions.has(permission));
}
