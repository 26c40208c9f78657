import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { CredentialChanges } from '../guard/credential-cache.ts';
import type { ApiKeyQuota } from '../tenancy-port.ts';
import { type ApiKeyRecord, type ApiKeyStore, createApiKeyStore } from './api-key-store.ts';

/** What the routes render, named here so they never reach the store. */
export type { ApiKeyRecord } from './api-key-store.ts';

export interface ApiKeyServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly apiKeys: ApiKeyStore;
  readonly audit: AuditLog;
  /** Told of a revocation once it commits, so no node keeps accepting the key. */
  readonly changes: CredentialChanges;
  /** What role names mean in the tenant (tenancy's, since custom roles are a tenant's). */
  readonly roles: RolePolicy;
  /** The tenant's limit on live keys; absent: no limit. */
  readonly quota?: ApiKeyQuota | undefined;
}

/** API keys of the actor's tenant, for the routes and the CLI: the same rules and audit events. */
export function createApiKeyService(deps: ApiKeyServiceDeps) {
  const { db, audit } = deps;
  const { roles } = deps;
  return {
    /** The secret is returned once and stored only as a digest. */
    async create(
      actor: Actor,
      key: { name: string; role: string; expires_ms: number | null },
    ): Promise<{ record: ApiKeyRecord; secret: string }> {
      const { principal } = actor;
      if (key.expires_ms !== null && !(key.expires_ms > Date.now())) {
        throw validationFailed([{ path: '/expires_at', message: 'must be a time in the future' }]);
      }
      const tenantId = principal.tenantId;
      const maxKeys = (await deps.quota?.limitOf(tenantId)) ?? 0;
      return await db.transaction(async (trx: AnyKysely) => {
        // 400 `invalid_roles` for a role the tenant does not have; and no escalation
        // through delegation: a key can do at most what its creator can.
        const [known = key.role] = await roles.normalize(trx, tenantId, [key.role]);
        await roles.checkDelegable(trx, principal, tenantId, [known]);
        const keys = createApiKeyStore({ kysely: trx });
        // 429 `quota_exceeded` at the tenant's limit of live keys, counted under its lock.
        await deps.quota?.check(trx, (id) => keys.countLive(id), tenantId, maxKeys);
        const created = await keys.create({
          tenant_id: tenantId,
          name: key.name,
          role: known,
          created_by: principal.userId,
          expires_ms: key.expires_ms,
        });
        const { id, name, role, prefix, expires_ms } = created.record;
        await audit.inTransaction(trx, actor.audit, [
          {
            tenant_id: tenantId,
            action: 'api_key.created',
            target: `api_key:${id}`,
            outcome: 'success',
            details: { name, role, prefix, expires_ms },
          },
        ]);
        return created;
      });
    },

    list: (tenantId: string, page: { after?: string | undefined; limit: number }) =>
      deps.apiKeys.list(tenantId, page),

    /**
     * 404 `api_key_not_found` unless the tenant has this live key; 403
     * `role_not_delegable` when the key's role grants something the caller's roles do
     * not: nobody manages a credential stronger than themselves (issue 15).
     */
    async revoke(actor: Actor, id: string): Promise<void> {
      const tenantId = actor.principal.tenantId;
      await db.transaction(async (trx: AnyKysely) => {
        const keys = createApiKeyStore({ kysely: trx });
        const role = await keys.liveRoleOf(tenantId, id);
        if (role !== undefined) await roles.checkDelegable(trx, actor.principal, tenantId, [role]);
        if (role === undefined || !(await keys.revoke(tenantId, id))) {
          throw new TesseraError(
            AccessErrors.api_key_not_found,
            'This tenant has no live API key with that id.',
          );
        }
        await audit.inTransaction(trx, actor.audit, [
          {
            tenant_id: tenantId,
            action: 'api_key.revoked',
            target: `api_key:${id}`,
            outcome: 'success',
          },
        ]);
      });
      deps.changes.changed({ kind: 'api_key', id });
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
