import type pg from 'pg';

export interface LogHead {
  readonly position: number;
  readonly time_ms: number;
}

/**
 * Takes the head row's lock for the rest of the transaction. Every appender of
 * every process takes it first, so appends run one at a time: positions are
 * assigned and become visible in commit order (a log reader can never skip an
 * event that commits later with a lower position), and the version checks that
 * follow read a state no one else is changing. It must be its own statement: a
 * statement's snapshot predates any wait for the lock, so reads made in the same
 * statement could miss the commit the lock waited for.
 */
export async function lockLogHead(client: pg.PoolClient): Promise<LogHead> {
  const { rows } = await client.query<LogHead>({
    name: 'tessera_events_lock_head',
    text: 'SELECT position, time_ms FROM event_log_head WHERE id = 1 FOR UPDATE',
  });
  const head = rows[0];
  if (!head) throw new Error('event_log_head has no row: the events migration did not run');
  return head;
}
