import type { Kysely } from 'kysely';
import type { AuditContext } from '../../../access/audit-context.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';
import { createFactorPresence } from '../factor-presence.ts';
import { mfaChangedNotice } from '../mfa-changed-notice.ts';
import { MfaErrors } from '../mfa-errors.ts';
import { passkeyEntry } from './passkey-audit.ts';
import type { PasskeyDeps } from './passkey-deps.ts';
import { createPasskeyStore, type Passkey } from './passkey-store.ts';
import { requireRecentSecondFactor, type SessionCaller } from './session-caller.ts';

/** A user's own passkeys: list, rename, remove. Another user's id is simply not found. */
export function createManagePasskeys(deps: PasskeyDeps) {
  const { db, now } = deps;
  const passkeys = createPasskeyStore(db.kysely);

  return {
    list: (caller: SessionCaller): Promise<Passkey[]> => passkeys.listOfUser(caller.userId),

    async rename(
      caller: SessionCaller,
      id: string,
      name: string,
      context: AuditContext,
    ): Promise<Passkey> {
      const renamed = await db.transaction(async (trx: AnyKysely) => {
        const changed = await createPasskeyStore(trx).rename(caller.userId, id, name.trim());
        if (!changed) throw notFound(id);
        await deps.audit.inTransaction(trx, context, [
          passkeyEntry(caller.tenantId, 'renamed', changed),
        ]);
        return changed;
      });
      deps.attempts.factorChanged('webauthn', 'renamed');
      return renamed;
    },

    /**
     * Needs a second factor proved in this session within `mfa.step_up_seconds`,
     * whatever the tenant's policy: a stolen session alone must not strip an account
     * of its factors. With the user's last factor go their recovery codes, which
     * exist only beside one.
     */
    async remove(caller: SessionCaller, id: string, context: AuditContext): Promise<void> {
      const at = now();
      requireRecentSecondFactor(caller, deps.stepUpSeconds, at);
      const user = await deps.users.findById(caller.userId);
      await db.transaction(async (trx: AnyKysely) => {
        const removed = await createPasskeyStore(trx).remove(caller.userId, id);
        if (!removed) throw notFound(id);
        const lastFactor = !(await createFactorPresence(trx).hasFactor(caller.userId));
        if (lastFactor) await forgetRecoveryCodes(trx, caller.userId);
        await deps.audit.inTransaction(trx, context, [
          {
            ...passkeyEntry(caller.tenantId, 'removed', removed),
            details: {
              credential_id: removed.id,
              name: removed.name,
              device_type: removed.device_type,
              last_factor: lastFactor,
            },
          },
        ]);
        if (user) {
          await deps.mailer.queueIn(
            trx,
            mfaChangedNotice(
              user,
              caller.tenantId,
              `A passkey, “${removed.name}”, was removed from your account.`,
              context.ip,
              at,
            ),
          );
        }
      });
      deps.mailer.flush();
      deps.attempts.factorChanged('webauthn', 'removed');
    },
  };
}

/** Recovery codes exist only beside a factor (issue 18): they go with the last one. */
async function forgetRecoveryCodes(trx: AnyKysely, userId: string): Promise<void> {
  const kysely: Kysely<Pick<Tables, 'recovery_codes'>> = trx;
  await kysely.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
}

function notFound(id: string): TesseraError {
  return new TesseraError(MfaErrors.passkey_not_found, `You have no passkey ${id}.`);
}
