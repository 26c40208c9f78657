import type pg from 'pg';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import type { AppendOutcome, AppendUnit } from '../model.ts';
import { lookupsFor, planAppend, tenantKey } from '../plan-append.ts';
import { commitTime, dayStart, limitedTenants } from '../plan-quota.ts';
import type { AppendSettings } from '../store.ts';
import { createEntityVersionCache, type EntityVersionCache } from './entity-version-cache.ts';
import { beginAndLockLogHead } from './lock-log-head.ts';
import { readAppendState, type StoredState } from './read-append-state.ts';
import { writeAppendPlan } from './write-append-plan.ts';

type Lookups = ReturnType<typeof lookupsFor> & { readonly limited: readonly string[] };
type Appender = (units: readonly AppendUnit[]) => Promise<AppendOutcome[]>;

/** The guessed versions were not the stored ones: nothing was written. */
const STALE = Symbol('stale');

/**
 * Appends on PostgreSQL, one transaction on one pooled client per call: lock the
 * log head, learn the entities' versions, let the planner decide every unit in
 * memory, write its rows, commit. Resolves after COMMIT (durable with PostgreSQL's
 * default synchronous_commit).
 *
 * Versions come from what this process last wrote when it knows every entity of the
 * call (and no client id needs looking up), saving a read in the head lock; the
 * write then verifies them and the transaction is rolled back if any was wrong, to
 * be retried on versions read. A refusal (version conflict, duplicate id, quota) is
 * never decided on a guess: units with quotas to check read their tenants' usage
 * (and so the versions too) under the lock.
 */
export function createAppender(pool: pg.Pool, settings: AppendSettings): Appender {
  const known = createEntityVersionCache();
  return async (units) => {
    const lookups: Lookups = { ...lookupsFor(units), limited: limitedTenants(units) };
    const guessed = await appendOnce(pool, units, lookups, known, settings, true);
    if (guessed !== STALE) return guessed;
    return (await appendOnce(pool, units, lookups, known, settings, false)) as AppendOutcome[];
  };
}

async function appendOnce(
  pool: pg.Pool,
  units: readonly AppendUnit[],
  lookups: Lookups,
  known: EntityVersionCache,
  { now: clock, chain }: AppendSettings,
  mayGuess: boolean,
): Promise<AppendOutcome[] | typeof STALE> {
  const client = await pool.connect();
  const keys = lookups.entities.map((entity) => tenantKey(entity.tenant_id, entity.entity_id));
  let guessing = false;
  try {
    const { head, heads } = await beginAndLockLogHead(client, lookups.partitions);
    const now = clock();
    const usage = { tenants: lookups.limited, day_start_ms: dayStart(commitTime(head, now)) };
    const guess = mayGuess ? guessState(lookups, keys, known) : undefined;
    guessing = guess !== undefined;
    let state = { ...(guess ?? (await readAppendState(client, lookups, usage))), heads };
    let plan = planAppend(units, state, head, now, chain);
    if (guessing && plan.outcomes.some((outcome) => !outcome.ok)) {
      guessing = false;
      state = { ...(await readAppendState(client, lookups, usage)), heads };
      plan = planAppend(units, state, head, now, chain);
    }
    if (plan.rows.length > 0) {
      const previous = plan.entities.map(
        (entity) => state.versions.get(tenantKey(entity.tenant_id, entity.entity_id)) ?? -1,
      );
      if (!(await writeAppendPlan(client, plan, head, previous))) {
        // Under the head lock, versions read cannot be wrong: only a guess can.
        if (!guessing) throw new Error('entity versions changed under the event log head lock');
        await rollbackAndRelease(client);
        known.forget(keys);
        return STALE;
      }
    }
    await client.query('COMMIT');
    client.release();
    known.remember(plan.entities);
    return plan.outcomes;
  } catch (error) {
    await rollbackAndRelease(client);
    known.forget(keys);
    // A guessed version below the stored one collides with a stored event.
    if (guessing && isUniqueViolation(error)) return STALE;
    throw error;
  }
}

/** Every entity's version from memory, or undefined when any is unknown. */
function guessState(
  lookups: Lookups,
  keys: readonly string[],
  known: EntityVersionCache,
): StoredState | undefined {
  // Client ids and usage are looked up in the same read, so there is nothing to save.
  if (lookups.clientIds.length > 0 || lookups.limited.length > 0) return undefined;
  const versions = new Map<string, number>();
  for (const key of keys) {
    const version = known.get(key);
    if (version === undefined) return undefined;
    versions.set(key, version);
  }
  return { versions, existing: new Map(), usage: new Map() };
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
