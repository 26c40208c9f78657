import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

type UserTables = Pick<Tables, 'users'>;

/**
 * What accepting an invitation by its email's link does to the invitee's identity
 * (issue 17): an identity the invitation created has no password until its owner
 * chooses one on the link's page, and the link, mailed to the address, proves it.
 * Lent to tenancy through `identityIn(trx).invitees`, in the acceptance's transaction.
 */
export interface InvitedIdentities {
  /** Whether the user has a password (false: created by an invitation, never set up). */
  hasPassword(userId: string): Promise<boolean>;
  /**
   * Sets the password and name of an identity that has no password yet and marks its
   * address verified. False when it has one by now (set up by another link meanwhile):
   * one UPDATE decides, so of two concurrent set-ups exactly one writes.
   */
  setUp(userId: string, setUp: { password_hash: string; name: string | null }): Promise<boolean>;
}

export function createInvitedIdentities(
  on: AnyKysely,
  now: () => number = Date.now,
): InvitedIdentities {
  const kysely: Kysely<UserTables> = on;
  return {
    async hasPassword(userId) {
      const row = await kysely
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirst();
      return row !== undefined && row.password_hash !== null;
    },

    async setUp(userId, { password_hash, name }) {
      const result = await kysely
        .updateTable('users')
        .set({ password_hash, email_verified: 1, updated_ms: now() })
        .$if(name !== null, (update) => update.set({ name }))
        .where('id', '=', userId)
        .where('password_hash', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
