import type { DatabaseSync } from 'node:sqlite';
import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import type { ChainLink, ChainLog, ChainPage, ChainRow } from '../chain/chain-log.ts';
import type { LedgerHead } from '../chain/ledger-heads.ts';
import { planChainBatch } from '../chain/plan-chain-batch.ts';
import { type HashedRecord, lastTimestampMemo, toChainRow } from '../row-to-event.ts';
import { prepared, preparedArrays } from './statements.ts';

const parseJson = (json: unknown) => JSON.parse(json as string);

// Read as arrays (preparedArrays): recordOf names the columns, in this order.
const READ_CHAIN = `SELECT position, tenant_id, entity_id, version, event_type, time_ms, payload,
  metadata, client_id, hash FROM events INDEXED BY events_tenant_position
  WHERE tenant_id = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?`;
const LINK_BEFORE = `SELECT position, hash FROM events INDEXED BY events_tenant_position
  WHERE tenant_id = ? AND position < ? ORDER BY position DESC LIMIT 1`;
const HEAD = 'SELECT partition, position, hash, chained FROM ledger_heads WHERE partition = ?';
// A loose index scan: each step jumps to the next tenant_id in events_tenant_position.
const PARTITIONS = `WITH RECURSIVE parts(p) AS (
    SELECT MIN(tenant_id) FROM events
    UNION ALL
    SELECT (SELECT MIN(tenant_id) FROM events WHERE tenant_id > p) FROM parts WHERE p IS NOT NULL
  ) SELECT p FROM parts WHERE p IS NOT NULL`;
const UNCHAINED_TAILS = `SELECT p AS partition, COALESCE(h.position, 0) AS after FROM (${PARTITIONS}) AS parts
  LEFT JOIN ledger_heads h ON h.partition = parts.p
  WHERE (SELECT MAX(position) FROM events WHERE tenant_id = parts.p) > COALESCE(h.position, 0)`;
const COUNT_AFTER = `SELECT COUNT(*) AS n FROM events INDEXED BY events_tenant_position
  WHERE tenant_id = ? AND position > ?`;
const NTH_POSITION_AFTER = `SELECT position FROM events INDEXED BY events_tenant_position
  WHERE tenant_id = ? AND position > ? ORDER BY position LIMIT 1 OFFSET ?`;
const SET_HASH = 'UPDATE events SET hash = ? WHERE position = ?';
const UPSERT_HEAD = `INSERT INTO ledger_heads (partition, position, hash, chained) VALUES (?, ?, ?, ?)
  ON CONFLICT (partition) DO UPDATE SET position = excluded.position, hash = excluded.hash,
  chained = excluded.chained`;

/** A READ_CHAIN row as an array of its columns. */
type ChainColumns = [
  HashedRecord['position'],
  HashedRecord['tenant_id'],
  HashedRecord['entity_id'],
  HashedRecord['version'],
  HashedRecord['event_type'],
  HashedRecord['time_ms'],
  HashedRecord['payload'],
  HashedRecord['metadata'],
  HashedRecord['client_id'],
  HashedRecord['hash'],
];

const recordOf = (row: ChainColumns): HashedRecord => ({
  position: row[0],
  tenant_id: row[1],
  entity_id: row[2],
  version: row[3],
  event_type: row[4],
  time_ms: row[5],
  payload: row[6],
  metadata: row[7],
  client_id: row[8],
  hash: row[9],
});

/** The ledger's reads and the backfill's writes on the SQLite file: see chain/chain-log.ts. */
export function createSqliteChainLog(db: SqliteDatabase): ChainLog {
  const readChain = (raw: DatabaseSync, partition: string, page: ChainPage): ChainRow[] => {
    const rows = preparedArrays(raw, READ_CHAIN).all(
      partition,
      page.after,
      page.upTo ?? Number.MAX_SAFE_INTEGER,
      page.limit,
    ) as unknown as ChainColumns[];
    const timestamp = lastTimestampMemo();
    return rows.map((row) => toChainRow(recordOf(row), parseJson, timestamp));
  };
  const head = (raw: DatabaseSync, partition: string) =>
    prepared(raw, HEAD).get(partition) as LedgerHead | undefined;
  return {
    readChain: (partition, page) => db.withRaw((raw) => readChain(raw, partition, page)),
    linkBefore: (partition, position) =>
      db.withRaw(
        (raw) => prepared(raw, LINK_BEFORE).get(partition, position) as ChainLink | undefined,
      ),
    head: (partition) => db.withRaw((raw) => head(raw, partition)),
    partitions: () =>
      db.withRaw((raw) => (prepared(raw, PARTITIONS).all() as { p: string }[]).map((row) => row.p)),
    unchainedTails: () =>
      db.withRaw(
        (raw) => prepared(raw, UNCHAINED_TAILS).all() as { partition: string; after: number }[],
      ),
    countAfter: (partition, position) =>
      db.withRaw((raw) => (prepared(raw, COUNT_AFTER).get(partition, position) as { n: number }).n),
    // One skip of `every` index entries per range: faster here than a window function,
    // which SQLite computes over the whole rest of the partition.
    rangeEnds: (partition, position, every, count) =>
      db.withRaw((raw) => {
        const ends: number[] = [];
        const nth = prepared(raw, NTH_POSITION_AFTER);
        for (let after = position; ends.length < count; ) {
          const row = nth.get(partition, after, every - 1) as { position: number } | undefined;
          if (!row) break;
          ends.push(row.position);
          after = row.position;
        }
        return ends;
      }),
    // BEGIN IMMEDIATE: the single writer's lock, the one appends take.
    chainNext: (partition, limit) =>
      db.withRawTransaction((raw) => {
        const before = head(raw, partition);
        const rows = readChain(raw, partition, { after: before?.position ?? 0, limit });
        const plan = planChainBatch(partition, before, rows);
        const setHash = prepared(raw, SET_HASH);
        for (const { position, hash } of plan.hashes) setHash.run(hash, position);
        if (plan.head && plan.hashes.length > 0) {
          const { position, hash, chained } = plan.head;
          prepared(raw, UPSERT_HEAD).run(partition, position, hash, chained);
        }
        return { chained: plan.hashes.length, blocked: plan.blocked };
      }),
  };
}
