import { type CustomRolePermissions, isRole, permissionsOf } from '../../access/roles.ts';
import type { CredentialCache } from '../../identity/guard/credential-cache.ts';
import type { CustomRoleLookup } from '../../identity/tenancy-port.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createRoleStore } from './role-store.ts';

/**
 * Custom roles through the node's credential cache, held like a credential of the
 * tenant: every tenant change (the role routes' own after commit; on PostgreSQL the
 * `tenant_roles` trigger for every node's) drops them with the tenant's sessions and
 * keys. Principals holding only built-in roles, nearly every request, never get here.
 */
export function createCustomRoleLookup(
  db: { readonly kysely: AnyKysely },
  credentials: CredentialCache,
): CustomRoleLookup {
  const roles = createRoleStore(db.kysely);
  const load = async (tenantId: string): Promise<CustomRolePermissions> =>
    new Map((await roles.list(tenantId)).map((role) => [role.name, role.permissions]));
  return {
    async permissionsOf(names, tenantId) {
      if (names.every(isRole)) return permissionsOf(names, tenantId);
      const custom = await credentials.through(
        `custom_roles:${tenantId}`,
        () => load(tenantId),
        () => ({ tenant: tenantId, user: null, session: null, api_key: null }),
      );
      return permissionsOf(names, tenantId, custom);
    },
  };
}
