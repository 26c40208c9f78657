import type { AnyKysely } from '../../storage/database.ts';
import type { AppendOutcome, AppendUnit } from '../model.ts';
import { lookupsFor, planAppend, tenantKey } from '../plan-append.ts';
import { commitTime, dayStart, limitedTenants } from '../plan-quota.ts';
import type { AppendSettings } from '../store.ts';
import type { LogHead } from './lock-log-head.ts';
import { readAppendState } from './read-append-state.ts';
import { readLedgerHeads } from './read-ledger-heads.ts';
import { sqlClientOf } from './sql-client.ts';
import { writeAppendPlan } from './write-append-plan.ts';

/**
 * Appends inside a transaction the caller opened (READ COMMITTED, PostgreSQL's
 * default) and commits, for events that must commit or vanish with another change.
 * It takes the event log head lock like every append, so call it last: the lock
 * stops every appender of the deployment until the caller's COMMIT.
 */
export async function appendInTransaction(
  trx: AnyKysely,
  units: readonly AppendUnit[],
  { now: clock, chain }: AppendSettings,
): Promise<AppendOutcome[]> {
  const client = sqlClientOf(trx);
  // Its own statement, so the reads below see the commit the lock may have waited for.
  const { rows } = await client.query<LogHead>({
    text: 'SELECT position, time_ms FROM event_log_head WHERE id = 1 FOR UPDATE',
    values: [],
  });
  const head = rows[0];
  if (!head) throw new Error('event_log_head has no row: the events migration did not run');
  const now = clock();
  const lookups = lookupsFor(units);
  // A round trip of its own (the lock above is an extended-protocol statement, which
  // cannot carry a second): audit appends are few and small.
  const heads = await readLedgerHeads(client, lookups.partitions);
  const stored = await readAppendState(client, lookups, {
    tenants: limitedTenants(units),
    day_start_ms: dayStart(commitTime(head, now)),
  });
  const state = { ...stored, heads };
  const plan = planAppend(units, state, head, now, chain);
  if (plan.rows.length > 0) {
    const previous = plan.entities.map(
      (entity) => state.versions.get(tenantKey(entity.tenant_id, entity.entity_id)) ?? -1,
    );
    if (!(await writeAppendPlan(client, plan, head, previous))) {
      throw new Error('entity versions changed under the event log head lock');
    }
  }
  return plan.outcomes;
}
