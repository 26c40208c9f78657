import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

type FactorTables = Pick<Tables, 'totp_factors' | 'passkeys'>;

/**
 * Whether a user has a second factor: a confirmed TOTP or a passkey. Recovery codes
 * do not count alone: they exist beside a factor and are voided with the last one.
 * What the guard asks of a session the MFA policy covers, and what a login asks
 * before deciding a second step is due. `db` is the database's Kysely or a transaction.
 */
export function createFactorPresence(db: AnyKysely) {
  const kysely: Kysely<FactorTables> = db;
  return {
    async hasFactor(userId: string): Promise<boolean> {
      const totp = await kysely
        .selectFrom('totp_factors')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('confirmed_ms', 'is not', null)
        .executeTakeFirst();
      if (totp) return true;
      const passkey = await kysely
        .selectFrom('passkeys')
        .select('id')
        .where('user_id', '=', userId)
        .limit(1)
        .executeTakeFirst();
      return passkey !== undefined;
    },
  };
}

export type FactorPresence = ReturnType<typeof createFactorPresence>;
