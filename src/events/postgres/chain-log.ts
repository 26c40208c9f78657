import type pg from 'pg';
import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import type {
  ChainLink,
  ChainLog,
  ChainPage,
  ChainRow,
  UnchainedTail,
} from '../chain/chain-log.ts';
import type { LedgerHead } from '../chain/ledger-heads.ts';
import { planChainBatch } from '../chain/plan-chain-batch.ts';
import {
  EVENT_COLUMNS,
  type HashedRecord,
  lastTimestampMemo,
  toChainRow,
} from '../row-to-event.ts';
import { beginAndLockLogHead } from './lock-log-head.ts';

const alreadyParsed = (json: unknown) => json;

const READ_CHAIN = `SELECT ${EVENT_COLUMNS}, hash FROM events
  WHERE tenant_id = $1 AND position > $2 AND position <= $3 ORDER BY position LIMIT $4`;
const LINK_BEFORE = `SELECT position, hash FROM events
  WHERE tenant_id = $1 AND position < $2 ORDER BY position DESC LIMIT 1`;
const HEAD = 'SELECT partition, position, hash, chained FROM ledger_heads WHERE partition = $1';
// A loose index scan: each step jumps to the next tenant_id in events_tenant_position.
const PARTITIONS = `WITH RECURSIVE parts(p) AS (
    SELECT MIN(tenant_id) FROM events
    UNION ALL
    SELECT (SELECT MIN(tenant_id) FROM events WHERE tenant_id > p) FROM parts WHERE p IS NOT NULL
  ) SELECT p FROM parts WHERE p IS NOT NULL`;
const UNCHAINED_TAILS = `SELECT parts.p AS partition, COALESCE(h.position, 0) AS after
  FROM (${PARTITIONS}) AS parts LEFT JOIN ledger_heads h ON h.partition = parts.p
  WHERE (SELECT MAX(position) FROM events WHERE tenant_id = parts.p) > COALESCE(h.position, 0)`;
const COUNT_AFTER = 'SELECT COUNT(*) AS n FROM events WHERE tenant_id = $1 AND position > $2';
// Every n-th position in one pass: one OFFSET query per range would each cost a scan of
// the rest of the partition whenever the planner, short of statistics (a freshly loaded
// table before ANALYZE), sorts instead of walking the index.
const RANGE_ENDS = `SELECT position FROM (
    SELECT position, row_number() OVER (ORDER BY position) AS n FROM events
    WHERE tenant_id = $1 AND position > $2
  ) AS numbered WHERE n % $3 = 0 ORDER BY position LIMIT $4`;
const SET_HASHES = `UPDATE events SET hash = v.hash
  FROM unnest($1::bigint[], $2::text[]) AS v(position, hash) WHERE events.position = v.position`;
const UPSERT_HEAD = `INSERT INTO ledger_heads (partition, position, hash, chained) VALUES ($1, $2, $3, $4)
  ON CONFLICT (partition) DO UPDATE SET position = excluded.position, hash = excluded.hash,
  chained = excluded.chained`;

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

async function readChain(client: Queryable, partition: string, page: ChainPage) {
  const upTo = page.upTo ?? Number.MAX_SAFE_INTEGER;
  const { rows } = await client.query<HashedRecord>(READ_CHAIN, [
    partition,
    page.after,
    upTo,
    page.limit,
  ]);
  const timestamp = lastTimestampMemo();
  return rows.map((row): ChainRow => toChainRow(row, alreadyParsed, timestamp));
}

async function headOf(client: Queryable, partition: string) {
  return (await client.query<LedgerHead>(HEAD, [partition])).rows[0];
}

/** The ledger's reads and the backfill's writes on PostgreSQL: see chain/chain-log.ts. */
export function createPostgresChainLog(db: PostgresDatabase): ChainLog {
  const { pool } = db;
  return {
    readChain: (partition, page) => readChain(pool, partition, page),
    linkBefore: async (partition, position) =>
      (await pool.query<ChainLink>(LINK_BEFORE, [partition, position])).rows[0],
    head: (partition) => headOf(pool, partition),
    partitions: async () => (await pool.query<{ p: string }>(PARTITIONS)).rows.map((row) => row.p),
    unchainedTails: async () => (await pool.query<UnchainedTail>(UNCHAINED_TAILS)).rows,
    countAfter: async (partition, position) =>
      (await pool.query<{ n: number }>(COUNT_AFTER, [partition, position])).rows[0]?.n ?? 0,
    rangeEnds: async (partition, position, every, count) =>
      (
        await pool.query<{ position: number }>(RANGE_ENDS, [partition, position, every, count])
      ).rows.map((row) => row.position),
    // Under the log head's lock, the one every appender takes first: no append can
    // move the partition's head between the read and the write.
    async chainNext(partition, limit) {
      const client = await pool.connect();
      try {
        await beginAndLockLogHead(client, []);
        const before = await headOf(client, partition);
        const rows = await readChain(client, partition, { after: before?.position ?? 0, limit });
        const plan = planChainBatch(partition, before, rows);
        if (plan.head && plan.hashes.length > 0) {
          const positions = plan.hashes.map((entry) => entry.position);
          const hashes = plan.hashes.map((entry) => entry.hash);
          await client.query(SET_HASHES, [positions, hashes]);
          const { position, hash, chained } = plan.head;
          await client.query(UPSERT_HEAD, [partition, position, hash, chained]);
        }
        await client.query('COMMIT');
        return { chained: plan.hashes.length, blocked: plan.blocked };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
