import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';

/**
 * A partition's last chained event (migration 0018): written by the append
 * transaction and the backfill, read here for the ledger's checkpoints.
 */
export interface LedgerHead {
  /** An `events.tenant_id` value: a tenant's log or its `$audit:<tenant>` trail. */
  readonly partition: string;
  readonly position: number;
  readonly hash: string;
  /** How many events the partition's chain holds. */
  readonly chained: number;
}

interface EventTables {
  ledger_heads: LedgerHead;
  events: { tenant_id: string; position: number; hash: string | null };
}

const on = (kysely: AnyKysely): Kysely<EventTables> => kysely;

/** The heads of `partitions` that have chained events (others are left out). */
export async function readLedgerHeads(
  kysely: AnyKysely,
  partitions: readonly string[],
): Promise<LedgerHead[]> {
  if (partitions.length === 0) return [];
  return on(kysely)
    .selectFrom('ledger_heads')
    .selectAll()
    .where('partition', 'in', partitions)
    .orderBy('partition')
    .execute();
}

/** Up to `limit` heads in partition order after `after`: a pass over every partition, a page at a time. */
export function pageLedgerHeads(
  kysely: AnyKysely,
  after: string | undefined,
  limit: number,
): Promise<LedgerHead[]> {
  let query = on(kysely).selectFrom('ledger_heads').selectAll();
  if (after !== undefined) query = query.where('partition', '>', after);
  return query.orderBy('partition').limit(limit).execute();
}

/**
 * The stored chain hash of the partition's event at `position`: `undefined` when no
 * such event exists, `null` when it exists unchained (stored before migration 0018
 * and not backfilled yet).
 */
export async function storedEventHash(
  kysely: AnyKysely,
  partition: string,
  position: number,
): Promise<string | null | undefined> {
  const row = await on(kysely)
    .selectFrom('events')
    .select('hash')
    .where('tenant_id', '=', partition)
    .where('position', '=', position)
    .executeTakeFirst();
  return row?.hash;
}
