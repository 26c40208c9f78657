import type { Actor } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import type { RoleName } from '../role-names.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { checkTenantAccess } from '../tenants/tenant-access.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { endAnsweringSessions } from './answering-sessions.ts';
import { createInvitationStore } from './invitation-store.ts';

/**
 * A pending invitation as the inviting tenant's administrators see it: nothing that
 * tells whether the identity existed before it (no name, no other tenant).
 */
export interface TenantInvitation {
  readonly id: string;
  readonly email: string;
  readonly roles: RoleName[];
  /** The teams the invitee joins on accepting. */
  readonly team_ids: string[];
  readonly invited_by: string | null;
  readonly created_ms: number;
  readonly expires_ms: number;
}

export interface TenantInvitationServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  /** Hears of the invitee whose answering sessions a cancel ended, once committed. */
  readonly changes: CredentialChanges;
}

async function checkTenantExists(trx: AnyKysely, tenantId: string): Promise<void> {
  if (!(await createTenantStore({ kysely: trx }).get(tenantId))) {
    throw new TesseraError(TenancyErrors.tenant_not_found, `no tenant has the id ${tenantId}`);
  }
}

/**
 * `/tenants/{id}/invitations`: the inviting side, for platform administrators on
 * any tenant and `members:manage` in one's own (checked from the principal before
 * any lookup, like the member routes, so a refusal reveals nothing of another
 * tenant). What it shows is what the inviter typed and chose, never whether the
 * email belonged to an identity before.
 */
export function createTenantInvitationService(deps: TenantInvitationServiceDeps) {
  const { db, audit, changes } = deps;
  const policy = createRolePolicy();

  return {
    async list(
      principal: Principal,
      tenantId: string,
      page: { after?: string | undefined; limit: number },
    ): Promise<TenantInvitation[]> {
      checkTenantAccess(principal, tenantId, 'members:manage');
      return db.transaction(async (trx: AnyKysely) => {
        await checkTenantExists(trx, tenantId);
        const records = await createInvitationStore(trx).listForTenant(tenantId, page);
        // Invitees' emails are identity's: one query for the page, in its order.
        const users = await identityIn(trx).users.findManyByIds(
          records.map((record) => record.user_id),
        );
        const emails = new Map(users.map((user) => [user.id, user.email]));
        return records.flatMap(({ user_id, ...record }) => {
          const email = emails.get(user_id);
          return email === undefined ? [] : [{ ...record, email }];
        });
      });
    },

    /**
     * Withdraws a pending invitation, atomically with `invitation.cancelled` in the
     * tenant's trail. Withdrawing roles is managing them: the caller needs every
     * permission they grant (403 `role_not_delegable`, nothing changed), as for a
     * member. 404 `invitation_not_found` for none live in this tenant.
     */
    async cancel(actor: Actor, tenantId: string, id: string): Promise<void> {
      checkTenantAccess(actor.principal, tenantId, 'members:manage');
      const userId = await db.transaction(async (trx: AnyKysely) => {
        await checkTenantExists(trx, tenantId);
        const cancelled = await createInvitationStore(trx).cancel(tenantId, id);
        if (!cancelled) {
          throw new TesseraError(
            TenancyErrors.invitation_not_found,
            `tenant ${tenantId} has no pending invitation ${id} (expired, answered, or cancelled)`,
          );
        }
        // Throwing here rolls the DELETE back with the transaction.
        await policy.checkDelegable(trx, actor.principal, tenantId, cancelled.roles);
        const revoked = await endAnsweringSessions(
          trx,
          tenantId,
          cancelled.user_id,
          'invitation_cancelled',
        );
        await audit.inTransaction(trx, actor.audit, [
          userEntry(tenantId, 'invitation.cancelled', cancelled.user_id, {
            invitation_id: id,
            roles: cancelled.roles,
            sessions_revoked: revoked,
          }),
        ]);
        return cancelled.user_id;
      });
      changes.changed({ kind: 'user', id: userId });
    },
  };
}

export type TenantInvitationService = ReturnType<typeof createTenantInvitationService>;
