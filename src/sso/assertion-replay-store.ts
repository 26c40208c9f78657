import type { Kysely } from 'kysely';
import type { AnyKysely } from '../storage/database.ts';
import type { Tables } from '../storage/tables.ts';

type ReplayTables = Pick<Tables, 'sso_assertions'>;

/** Expired ids are deleted this many at a time, once in this many claims: bounded work. */
const SWEEP_EVERY = 100;
const SWEEP_BATCH = 500;

/**
 * The SAML assertion replay cache, shared by every node through the database: an
 * assertion id is claimed once per connection, by one INSERT that a second claim
 * (on any node, at any moment before the id expires) finds taken.
 */
export function createAssertionReplayStore(kysely: AnyKysely, now: () => number = Date.now) {
  const db: Kysely<ReplayTables> = kysely;
  let claims = 0;

  async function sweep(): Promise<void> {
    const expired = await db
      .selectFrom('sso_assertions')
      .select(['connection_id', 'assertion_id'])
      .where('expires_ms', '<=', now())
      .limit(SWEEP_BATCH)
      .execute();
    for (const row of expired) {
      await db
        .deleteFrom('sso_assertions')
        .where('connection_id', '=', row.connection_id)
        .where('assertion_id', '=', row.assertion_id)
        .where('expires_ms', '<=', now())
        .execute();
    }
  }

  return {
    /**
     * True the first time `assertionId` is seen for the connection; false for a replay.
     * `expiresMs`: when the assertion stops being acceptable anyway (its
     * NotOnOrAfter plus the allowed skew): the id need not be kept longer.
     */
    async claim(connectionId: string, assertionId: string, expiresMs: number): Promise<boolean> {
      claims += 1;
      if (claims % SWEEP_EVERY === 0) await sweep();
      const inserted = await db
        .insertInto('sso_assertions')
        .values({ connection_id: connectionId, assertion_id: assertionId, expires_ms: expiresMs })
        .onConflict((conflict) => conflict.columns(['connection_id', 'assertion_id']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
  };
}

export type AssertionReplayStore = ReturnType<typeof createAssertionReplayStore>;
