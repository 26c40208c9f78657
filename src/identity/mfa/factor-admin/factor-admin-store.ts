import { type Kysely, sql } from 'kysely';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';
import type { FactorCounts, FactorsRemoved, UserFactors, UserIdSet } from './user-factors.ts';

type FactorTables = Pick<
  Tables,
  'totp_factors' | 'recovery_codes' | 'passkeys' | 'webauthn_challenges' | 'mfa_tokens'
>;

const asCount = (value: unknown) => Number(value ?? 0);

/**
 * Reads and removes a user's second factors (identity's tables, migration 0013) for
 * administration and the user's own overview. `db` is the database or a transaction.
 */
export function createFactorAdminStore(db: AnyKysely) {
  const kysely: Kysely<FactorTables> = db;
  return {
    async factorsOf(userId: string): Promise<UserFactors> {
      const totp = await kysely
        .selectFrom('totp_factors')
        .select('confirmed_ms')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      const passkeys = await kysely
        .selectFrom('passkeys')
        .select(['id', 'name', 'created_ms', 'last_used_ms', 'device_type', 'backed_up'])
        .where('user_id', '=', userId)
        .orderBy('created_ms')
        .orderBy('id')
        .execute();
      const codes = await kysely
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll().as('remaining'))
        .where('user_id', '=', userId)
        .where('used_ms', 'is', null)
        .executeTakeFirst();
      return {
        totp_confirmed_ms: totp?.confirmed_ms == null ? null : Number(totp.confirmed_ms),
        passkeys: passkeys.map((row) => ({
          id: row.id,
          name: row.name,
          created_ms: Number(row.created_ms),
          last_used_ms: row.last_used_ms === null ? null : Number(row.last_used_ms),
          device_type: row.device_type,
          backed_up: Number(row.backed_up) === 1,
        })),
        recovery_codes_remaining: asCount(codes?.remaining),
      };
    },

    /**
     * Removes every factor of the user and what a sign-in or enrollment in progress holds
     * (pending TOTP, mfa_tokens, WebAuthn challenges), so nothing half-done survives a reset.
     */
    async removeAll(userId: string): Promise<FactorsRemoved> {
      const removed = async (table: keyof FactorTables) =>
        Number(
          (await kysely.deleteFrom(table).where('user_id', '=', userId).executeTakeFirst())
            .numDeletedRows,
        );
      // A pending (unconfirmed) TOTP enrollment is removed too, but is no factor removed.
      const totp = await kysely
        .deleteFrom('totp_factors')
        .where('user_id', '=', userId)
        .returning('confirmed_ms')
        .execute();
      return {
        totp: totp.filter((row) => row.confirmed_ms !== null).length,
        recovery_codes: await removed('recovery_codes'),
        passkeys: await removed('passkeys'),
        mfa_tokens: await removed('mfa_tokens'),
        webauthn_challenges: await removed('webauthn_challenges'),
      };
    },

    /** Aggregates over `users` (a subquery): three counts, whatever the number of users. */
    async countsAmong(users: UserIdSet): Promise<FactorCounts> {
      const confirmedTotp = kysely
        .selectFrom('totp_factors')
        .select('user_id')
        .where('confirmed_ms', 'is not', null)
        .where(sql<boolean>`totp_factors.user_id in ${users}`);
      const withPasskey = kysely
        .selectFrom('passkeys')
        .select('user_id')
        .where(sql<boolean>`passkeys.user_id in ${users}`);
      const row = await kysely
        .selectNoFrom((eb) => [
          eb.selectFrom(confirmedTotp.as('t')).select(eb.fn.countAll().as('n')).as('with_totp'),
          eb
            .selectFrom(withPasskey.as('p'))
            .select(sql<number>`count(distinct user_id)`.as('n'))
            .as('with_passkeys'),
          // UNION drops duplicates: a user with both counts once.
          eb
            .selectFrom(confirmedTotp.union(withPasskey).as('f'))
            .select(eb.fn.countAll().as('n'))
            .as('with_any'),
        ])
        .executeTakeFirstOrThrow();
      return {
        with_totp: asCount(row.with_totp),
        with_passkeys: asCount(row.with_passkeys),
        with_any: asCount(row.with_any),
      };
    },
  };
}

export type FactorAdminStore = ReturnType<typeof createFactorAdminStore>;
