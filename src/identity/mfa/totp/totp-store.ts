import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';

type TotpTables = Pick<Tables, 'totp_factors'>;

/** A user's TOTP row; `secret` still sealed (secret-box). */
export interface TotpFactor {
  readonly user_id: string;
  readonly secret: string;
  readonly confirmed_ms: number | null;
  readonly last_step: number | null;
}

/**
 * SQL on `totp_factors` (migration 0013), one row per user. Every change that a
 * concurrent request could race is one conditional statement. `db` is the
 * database's Kysely or a transaction.
 */
export function createTotpStore(db: AnyKysely) {
  const kysely: Kysely<TotpTables> = db;
  return {
    async find(userId: string): Promise<TotpFactor | undefined> {
      return kysely
        .selectFrom('totp_factors')
        .select(['user_id', 'secret', 'confirmed_ms', 'last_step'])
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },

    /**
     * A pending enrollment with this sealed secret, replacing a pending one; false
     * (and nothing written) when a confirmed one exists. One upsert, so two
     * concurrent enrollments cannot both insert.
     */
    async startEnrollment(userId: string, sealed: string, atMs: number): Promise<boolean> {
      const result = await kysely
        .insertInto('totp_factors')
        .values({
          user_id: userId,
          secret: sealed,
          confirmed_ms: null,
          last_step: null,
          created_ms: atMs,
        })
        .onConflict((conflict) =>
          conflict
            .column('user_id')
            .doUpdateSet({ secret: sealed, last_step: null, created_ms: atMs })
            .where('totp_factors.confirmed_ms', 'is', null),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /**
     * Activates the pending enrollment whose sealed secret is `sealed` (the one the
     * code was checked against, not one a concurrent request put in its place).
     */
    async confirm(userId: string, sealed: string, step: number, atMs: number): Promise<boolean> {
      const result = await kysely
        .updateTable('totp_factors')
        .set({ confirmed_ms: atMs, last_step: step })
        .where('user_id', '=', userId)
        .where('secret', '=', sealed)
        .where('confirmed_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Spends time step `step`: only a step later than the last one accepted, in one
     * conditional UPDATE, so a code is accepted at most once on any number of nodes
     * (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP").
     */
    async spendStep(userId: string, step: number): Promise<boolean> {
      const result = await kysely
        .updateTable('totp_factors')
        .set({ last_step: step })
        .where('user_id', '=', userId)
        .where('confirmed_ms', 'is not', null)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Removes the confirmed factor; false when there was none. */
    async removeConfirmed(userId: string): Promise<boolean> {
      const result = await kysely
        .deleteFrom('totp_factors')
        .where('user_id', '=', userId)
        .where('confirmed_ms', 'is not', null)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type TotpStore = ReturnType<typeof createTotpStore>;
