import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Mailer } from '../../email/mailer.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import { identityIn } from '../../identity/identity-port.ts';
import type { FactorsRemoved, UserFactors } from '../../identity/mfa/factor-admin/user-factors.ts';
import { mfaChangedNotice } from '../../identity/mfa/mfa-changed-notice.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { checkManagesMember, checkOwnsIdentity } from '../memberships/identity-owner.ts';
import { createTenantUserReads } from './tenant-user-reads.ts';
import { createUserAdminStore } from './user-admin-store.ts';

export interface UserMfaDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely' | 'capabilities'>;
  readonly audit: AuditLog;
  /** The `mfa_changed` email is queued in the reset's transaction. */
  readonly mailer: Mailer;
  /** `mfa_factor_changes_total{change="reset"}`, once per kind of factor removed. */
  readonly attempts: Pick<AuthAttempts, 'factorChanged'>;
  readonly now?: () => number;
}

/** Issue 18 item 6: what the administrators of a tenant may see and do of a member's MFA. */
const PERMISSION = 'members:manage';

/**
 * A tenant administrator sees and resets the second factors of their tenant's members:
 * not of another tenant's (404, as if unknown), not of a member stronger than
 * themselves (403 role_not_delegable), and not of an identity that other tenants
 * share (403 identity_shared: its factors sign it in everywhere), unless they are
 * a platform administrator.
 */
export function createUserMfaService(deps: UserMfaDeps) {
  const { db, audit, mailer } = deps;
  const now = deps.now ?? Date.now;
  const rowLocks = db.capabilities.concurrentWriters;

  /** The member, once every rule above holds, read on `trx`. */
  async function checkedMember(trx: AnyKysely, actor: Actor, userId: string) {
    if (!actor.principal.permissions.has(PERMISSION)) {
      throw new TesseraError(AccessErrors.permission_denied, `This needs ${PERMISSION}.`, {
        extensions: { permission: PERMISSION },
      });
    }
    const tenantId = actor.principal.tenantId;
    const member = await createTenantUserReads(trx, { rowLocks }).get(tenantId, userId);
    if (!member) {
      throw new TesseraError(
        IdentityErrors.user_not_found,
        `no user of this tenant has the id ${userId}`,
      );
    }
    await checkManagesMember(trx, actor.principal, userId);
    const others = await createUserAdminStore({ kysely: trx }, { rowLocks }).otherTenantsOf(
      userId,
      tenantId,
    );
    checkOwnsIdentity(actor.principal, others, 'their second factors');
    return member;
  }

  return {
    async factorsOf(actor: Actor, userId: string): Promise<UserFactors> {
      await checkedMember(db.kysely, actor, userId);
      return identityIn(db.kysely).factors.factorsOf(userId);
    },

    /**
     * Removes every factor, recovery code, pending sign-in and challenge of the member;
     * audited as `mfa.reset` and emailed to them (`mfa_changed`) in the same transaction.
     * Sessions stay: the user enrolls again from one where the tenant requires MFA.
     */
    async reset(actor: Actor, userId: string): Promise<FactorsRemoved> {
      const tenantId = actor.principal.tenantId;
      const removed = await db.transaction(async (trx: AnyKysely) => {
        const member = await checkedMember(trx, actor, userId);
        const gone = await identityIn(trx).factors.removeAll(userId);
        if (gone.totp + gone.passkeys + gone.recovery_codes > 0) {
          const change =
            'An administrator reset your second factors: your authenticator app, passkeys and recovery codes no longer sign you in.';
          await mailer.queueIn(
            trx,
            mfaChangedNotice(member, tenantId, change, actor.audit.ip, now()),
          );
        }
        await audit.inTransaction(trx, actor.audit, [
          // Named so: the audit drops keys that look like secrets (`totp`, `passkeys`).
          userEntry(tenantId, 'mfa.reset', userId, {
            authenticator_apps: gone.totp,
            webauthn_credentials: gone.passkeys,
            recovery_codes: gone.recovery_codes,
          }),
        ]);
        return gone;
      });
      mailer.flush();
      if (removed.totp > 0) deps.attempts.factorChanged('totp', 'reset');
      if (removed.passkeys > 0) deps.attempts.factorChanged('webauthn', 'reset');
      if (removed.recovery_codes > 0) deps.attempts.factorChanged('recovery_code', 'reset');
      return removed;
    },
  };
}

export type UserMfaService = ReturnType<typeof createUserMfaService>;
