import { AccessErrors } from '../../access/errors.ts';
import type { Permission } from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import { TesseraError } from '../../platform/errors.ts';

/** Only admins of the `system` tenant hold `platform:tenants` (see access/roles.ts). */
export function isPlatformAdmin(principal: Principal): boolean {
  return principal.permissions.has('platform:tenants');
}

/**
 * A platform administrator may act on any tenant; anyone else only on their own
 * tenant and only with `permission`. Decided from the principal alone, before any
 * lookup, so a refusal never reveals whether another tenant exists.
 */
export function checkTenantAccess(
  principal: Principal,
  tenantId: string,
  permission: Permission,
): void {
  if (isPlatformAdmin(principal)) return;
  if (principal.tenantId === tenantId && principal.permissions.has(permission)) return;
  throw new TesseraError(
    AccessErrors.permission_denied,
    `This needs the ${permission} permission in tenant ${tenantId}, or platform:tenants.`,
    { extensions: { permission } },
  );
}
