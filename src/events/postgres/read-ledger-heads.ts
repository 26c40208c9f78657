import type { ChainEnd } from '../chain/chain-linker.ts';
import type { SqlClient } from './sql-client.ts';

/** A `ledger_heads` row as both reads below return it. */
export interface LedgerHeadRecord {
  readonly partition: string;
  readonly position: number;
  readonly hash: string;
}

const SELECT_HEADS = 'SELECT partition, position, hash FROM ledger_heads';

/**
 * The heads of `partitions` as one statement with the names quoted in, for the
 * simple-protocol round trip that takes the log head lock (lock-log-head.ts), where
 * statements take no parameters. `quote` is the driver's `escapeLiteral`.
 */
export function ledgerHeadsStatement(
  partitions: readonly string[],
  quote: (text: string) => string,
): string {
  return `${SELECT_HEADS} WHERE partition IN (${partitions.map(quote).join(', ')})`;
}

/** The heads of `partitions`, one statement for them all, in the caller's transaction. */
export async function readLedgerHeads(
  client: SqlClient,
  partitions: readonly string[],
): Promise<Map<string, ChainEnd>> {
  const { rows } = await client.query<LedgerHeadRecord>({
    name: 'tessera_events_read_ledger_heads',
    text: `${SELECT_HEADS} WHERE partition = ANY($1::text[])`,
    values: [partitions],
  });
  return ledgerHeadsOf(rows);
}

export function ledgerHeadsOf(rows: readonly LedgerHeadRecord[]): Map<string, ChainEnd> {
  return new Map(rows.map((row) => [row.partition, { position: row.position, hash: row.hash }]));
}
