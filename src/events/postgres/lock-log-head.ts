import type pg from 'pg';
import type { ChainEnd } from '../chain/chain-linker.ts';
import { type LedgerHeadRecord, ledgerHeadsOf, ledgerHeadsStatement } from './read-ledger-heads.ts';

export interface LogHead {
  readonly position: number;
  readonly time_ms: number;
}

// READ COMMITTED whatever the server's default: each statement must see the commit
// the head lock waited for (REPEATABLE READ would fail on it instead). The head lock
// stops every appender of the deployment while held, so a session that goes silent
// mid-transaction (a partitioned or frozen node) is ended by the server, not kept
// until TCP gives up on it.
const BEGIN_AND_LOCK = `BEGIN ISOLATION LEVEL READ COMMITTED;
SET LOCAL idle_in_transaction_session_timeout = '5s';
SELECT position, time_ms FROM event_log_head WHERE id = 1 FOR UPDATE`;

/**
 * Opens the append transaction and takes the head row's lock for the rest of the
 * transaction. Every appender of every process takes it first, so appends run one at
 * a time: positions are assigned and become visible in commit order (a log reader can
 * never skip an event that commits later with a lower position), and the version
 * checks that follow read a state no one else is changing. It must be its own
 * statement: a statement's snapshot predates any wait for the lock, so reads made in
 * the same statement could miss the commit the lock waited for.
 *
 * The ledger heads of `partitions` (the tenant ids the commit appends to) are read in
 * the same round trip, by a statement of their own after the lock: under it no other
 * commit can chain onto them, and the guessed-versions path needs no further read.
 */
export async function beginAndLockLogHead(
  client: pg.PoolClient,
  partitions: readonly string[],
): Promise<{ readonly head: LogHead; readonly heads: Map<string, ChainEnd> }> {
  // One simple-protocol round trip carrying every statement: each still gets its own
  // snapshot, which is what matters above. Simple-protocol statements take no
  // parameters, so the partitions are quoted in by the driver's escapeLiteral.
  const readHeads = partitions.length > 0;
  const text = readHeads
    ? `${BEGIN_AND_LOCK};\n${ledgerHeadsStatement(partitions, (name) => client.escapeLiteral(name))}`
    : BEGIN_AND_LOCK;
  const results = (await client.query(text)) as unknown as pg.QueryResult[];
  const head = results.at(readHeads ? -2 : -1)?.rows[0] as LogHead | undefined;
  if (!head) throw new Error('event_log_head has no row: the events migration did not run');
  const heads = readHeads ? (results.at(-1)?.rows as LedgerHeadRecord[]) : [];
  return { head, heads: ledgerHeadsOf(heads) };
}
