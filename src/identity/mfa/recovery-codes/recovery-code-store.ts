import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';

type RecoveryTables = Pick<Tables, 'recovery_codes' | 'users'>;

/**
 * SQL on `recovery_codes` (migration 0013): digests only. `db` is the database's
 * Kysely or a transaction.
 */
export function createRecoveryCodeStore(db: AnyKysely) {
  const kysely: Kysely<RecoveryTables> = db;
  return {
    /**
     * Holds the user's row until the transaction ends: two regenerations (or a
     * confirmation and a regeneration) run one after the other, so their
     * delete-then-insert never leaves both sets valid. A no-op UPDATE takes the row
     * lock on PostgreSQL (no credential trigger fires: `status` is not set); SQLite
     * has one writer at a time anyway.
     */
    async lockUser(userId: string): Promise<void> {
      await kysely
        .updateTable('users')
        .set((eb) => ({ updated_ms: eb.ref('updated_ms') }))
        .where('id', '=', userId)
        .execute();
    },

    /** The user's codes become exactly these digests; call under `lockUser`. */
    async replaceAll(userId: string, digests: readonly string[], atMs: number): Promise<void> {
      await kysely.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await kysely
        .insertInto('recovery_codes')
        .values(
          digests.map((digest) => ({ user_id: userId, digest, created_ms: atMs, used_ms: null })),
        )
        .execute();
    },

    /** Spends one code in one conditional UPDATE: of concurrent uses, exactly one gets true. */
    async spend(userId: string, digest: string, atMs: number): Promise<boolean> {
      const result = await kysely
        .updateTable('recovery_codes')
        .set({ used_ms: atMs })
        .where('user_id', '=', userId)
        .where('digest', '=', digest)
        .where('used_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async countUnused(userId: string): Promise<number> {
      const row = await kysely
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .where('used_ms', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Whether this code exists and was used (a replay, not a wrong code). */
    async isSpent(userId: string, digest: string): Promise<boolean> {
      const row = await kysely
        .selectFrom('recovery_codes')
        .select('used_ms')
        .where('user_id', '=', userId)
        .where('digest', '=', digest)
        .executeTakeFirst();
      return row !== undefined && row.used_ms !== null;
    },

    async countAll(userId: string): Promise<number> {
      const row = await kysely
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async removeAll(userId: string): Promise<number> {
      const result = await kysely
        .deleteFrom('recovery_codes')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type RecoveryCodeStore = ReturnType<typeof createRecoveryCodeStore>;
