import type { Database } from '../../storage/open-database.ts';
import type { StoredEvent } from '../model.ts';
import { createPostgresChainLog } from '../postgres/chain-log.ts';
import { createSqliteChainLog } from '../sqlite/chain-log.ts';
import type { LedgerHead } from './ledger-heads.ts';

/** An event as the ledger reads it: its chained form and its stored hash (null: unchained). */
export type ChainRow = StoredEvent & { readonly hash: string | null };

/** An event's place in its chain: its position and stored hash (null: unchained). */
export interface ChainLink {
  readonly position: number;
  readonly hash: string | null;
}

export interface ChainPage {
  /** Events after this position... */
  readonly after: number;
  /** ...up to and including this one (default: the partition's end)... */
  readonly upTo?: number | undefined;
  /** ...at most this many, in position order. */
  readonly limit: number;
}

/** A partition whose log goes past its `ledger_heads` row: events the backfill may chain. */
export interface UnchainedTail {
  readonly partition: string;
  /** The head's position, 0 when the partition has no head row. */
  readonly after: number;
}

/**
 * How the ledger reads the event log's chains, on either engine. A partition is an
 * `events.tenant_id` value (a tenant's log or its `$audit:<tenant>` trail); every
 * read goes through `events_tenant_position`, so none scans another partition.
 */
export interface ChainLog {
  /** The partition's events with their stored hashes, in position order. */
  readChain(partition: string, page: ChainPage): Promise<ChainRow[]>;
  /** The partition's last event before `position`: where a segment starting there chains from. */
  linkBefore(partition: string, position: number): Promise<ChainLink | undefined>;
  head(partition: string): Promise<LedgerHead | undefined>;
  /** Every partition holding events, in order (an index skip, not a scan of the table). */
  partitions(): Promise<string[]>;
  /** The partitions whose last event lies past their head: one query, cheap when none does. */
  unchainedTails(): Promise<UnchainedTail[]>;
  /** How many events of the partition lie after `position`. */
  countAfter(partition: string, position: number): Promise<number>;
  /**
   * Where the partition's next `count` ranges of `every` events after `position` end:
   * the positions of its every-th event after it, its 2·every-th, and so on (fewer
   * when it ends first). A walk of `events_tenant_position`, no row read.
   */
  rangeEnds(partition: string, position: number, every: number, count: number): Promise<number[]>;
  /**
   * Chains up to `limit` events of the partition after its head, in one transaction
   * holding the lock appends take, and moves the head with them. Stops early at an
   * event that already has a hash (a head that does not match its chain is for the
   * verifier to report, not for the backfill to paper over). Returns how many it chained.
   */
  chainNext(partition: string, limit: number): Promise<ChainBatch>;
}

export interface ChainBatch {
  readonly chained: number;
  /** An event past the head already had a hash: the partition cannot be continued. */
  readonly blocked: boolean;
}

export function openChainLog(db: Database): ChainLog {
  return db.byEngine({
    sqlite: (sqlite) => createSqliteChainLog(sqlite),
    postgres: (postgres) => createPostgresChainLog(postgres),
  });
}
