import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { LedgerCheckpointRow, Tables } from '../../storage/tables.ts';

type CheckpointTables = Pick<Tables, 'ledger_checkpoints'>;

/** The ledger's checkpoints table (migration 0018): rows are inserted, never updated or deleted. */
export function createCheckpointStore(kysely: AnyKysely) {
  const table: Kysely<CheckpointTables> = kysely;
  return {
    /**
     * True when written; false when that (partition, position) is checkpointed
     * already: nodes signing the same head at once leave exactly one row.
     */
    async insert(row: LedgerCheckpointRow): Promise<boolean> {
      const result = await table
        .insertInto('ledger_checkpoints')
        .values(row)
        .onConflict((conflict) => conflict.columns(['partition', 'position']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    get(partition: string, position: number): Promise<LedgerCheckpointRow | undefined> {
      return table
        .selectFrom('ledger_checkpoints')
        .selectAll()
        .where('partition', '=', partition)
        .where('position', '=', position)
        .executeTakeFirst();
    },

    /** The partition's first checkpoint at or after `position`: the one that covers that event. */
    firstAtOrAfter(partition: string, position: number): Promise<LedgerCheckpointRow | undefined> {
      return table
        .selectFrom('ledger_checkpoints')
        .selectAll()
        .where('partition', '=', partition)
        .where('position', '>=', position)
        .orderBy('position')
        .limit(1)
        .executeTakeFirst();
    },

    /** Each partition's newest checkpoint (highest position), for those that have one. */
    latestOf(partitions: readonly string[]): Promise<LedgerCheckpointRow[]> {
      if (partitions.length === 0) return Promise.resolve([]);
      return table
        .selectFrom('ledger_checkpoints as c')
        .selectAll('c')
        .where('c.partition', 'in', partitions)
        .where((eb) =>
          eb(
            'c.position',
            '=',
            eb
              .selectFrom('ledger_checkpoints as newer')
              .select((max) => max.fn.max('newer.position').as('position'))
              .whereRef('newer.partition', '=', 'c.partition'),
          ),
        )
        .execute();
    },

    /**
     * A partition's checkpoints in position order, after the cursor `after` (a
     * position) and up to `upTo` (inclusive) when given.
     */
    list(
      partition: string,
      page: { after?: number | undefined; upTo?: number | undefined; limit: number },
    ): Promise<LedgerCheckpointRow[]> {
      let query = table
        .selectFrom('ledger_checkpoints')
        .selectAll()
        .where('partition', '=', partition);
      if (page.after !== undefined) query = query.where('position', '>', page.after);
      if (page.upTo !== undefined) query = query.where('position', '<=', page.upTo);
      return query.orderBy('position').limit(page.limit).execute();
    },

    /** The partition's last checkpoint before `position` (a verifier's last known good one). */
    before(partition: string, position: number): Promise<LedgerCheckpointRow | undefined> {
      return table
        .selectFrom('ledger_checkpoints')
        .selectAll()
        .where('partition', '=', partition)
        .where('position', '<', position)
        .orderBy('position', 'desc')
        .limit(1)
        .executeTakeFirst();
    },
  };
}

export type CheckpointStore = ReturnType<typeof createCheckpointStore>;
