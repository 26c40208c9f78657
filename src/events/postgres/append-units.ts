import type pg from 'pg';
import type { AppendOutcome, AppendUnit } from '../model.ts';
import { lookupsFor, planAppend } from '../plan-append.ts';
import { beginAndLockLogHead } from './lock-log-head.ts';
import { readAppendState } from './read-append-state.ts';
import { writeAppendPlan } from './write-append-plan.ts';

/**
 * One transaction on one pooled client: lock the log head, read what the planner
 * needs, let it decide every unit in memory, write its rows. Resolves after COMMIT
 * (durable with PostgreSQL's default synchronous_commit).
 */
export async function appendUnits(
  pool: pg.Pool,
  units: readonly AppendUnit[],
): Promise<AppendOutcome[]> {
  const client = await pool.connect();
  try {
    const head = await beginAndLockLogHead(client);
    const state = await readAppendState(client, lookupsFor(units));
    const plan = planAppend(units, state, head, Date.now());
    if (plan.rows.length > 0) await writeAppendPlan(client, plan, head);
    await client.query('COMMIT');
    client.release();
    return plan.outcomes;
  } catch (error) {
    await rollbackAndRelease(client);
    throw error;
  }
}

/** A client whose ROLLBACK fails is broken: destroy it rather than return it to the pool. */
async function rollbackAndRelease(client: pg.PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch (rollbackError) {
    client.release(rollbackError instanceof Error ? rollbackError : true);
  }
}
