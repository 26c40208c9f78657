import type { Actor } from '../access/actor.ts';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { permissionsOf, SYSTEM_TENANT } from '../access/roles.ts';
import { TesseraError } from '../platform/errors.ts';
import { TenancyErrors } from '../tenancy/errors.ts';
import type { TenantRegistry } from '../tenancy/tenants/tenant-registry.ts';

/**
 * The CLI acts as an operator with access to the database, i.e. with a platform
 * administrator's authority, in `tenantId`; its changes are audited with `cli` as
 * the actor.
 */
export function cliActor(tenantId: string): Actor {
  return {
    principal: {
      kind: 'user',
      tenantId,
      userId: null,
      sessionId: null,
      apiKeyId: null,
      roles: ['admin'],
      permissions: permissionsOf(['admin'], SYSTEM_TENANT),
    },
    audit: CLI_AUDIT_CONTEXT,
  };
}

/** `cliActor` for a tenant that exists (not deleted); 404 `tenant_not_found` otherwise. */
export async function cliActorIn(
  tenants: Pick<TenantRegistry, 'get'>,
  tenantId: string,
): Promise<Actor> {
  if (!(await tenants.get(tenantId))) {
    throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${tenantId}`);
  }
  return cliActor(tenantId);
}
