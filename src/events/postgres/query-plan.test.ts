import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import {
  postgresFixture,
  skipWithoutPostgres,
} from '../../../test/helpers/postgres-events-fixture.ts';
import type { PostgresDatabase } from '../../storage/postgres/open-postgres.ts';
import type { AppendUnit, EventQuery } from '../model.ts';
import { buildListEntities } from './list-entities.ts';
import { createPostgresEventStore } from './postgres-event-store.ts';
import { buildEventQuery } from './query-events.ts';
import { buildReadLog } from './read-log.ts';

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

const INDEX_SCANS = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Index Scan']);

function* walk(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* walk(child);
}

/**
 * The plan of exactly the SQL the store runs. Seq scans are disabled (inside the
 * transaction only) because on tables this small the planner rightly prefers them;
 * what matters is that an index CAN serve the shape.
 */
async function plan(pool: pg.Pool, sql: { text: string; values: unknown[] }): Promise<PlanNode[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${sql.text}`,
      sql.values,
    );
    return [...walk((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan)];
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

function assertUsesIndex(nodes: PlanNode[], index: string): void {
  const shown = JSON.stringify(
    nodes.map((n) => [n['Node Type'], n['Index Name'] ?? n['Relation Name']]),
  );
  assert.ok(
    nodes.some((node) => INDEX_SCANS.has(node['Node Type']) && node['Index Name'] === index),
    `expected an index scan on ${index}: ${shown}`,
  );
  assert.ok(
    !nodes.some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'events'),
    `a sequential scan of events: ${shown}`,
  );
}

const QUERY_SHAPES: [string, Partial<EventQuery>, string][] = [
  ['tenant only', {}, 'events_tenant_position'],
  [
    'tenant, newest first after a cursor',
    { order: 'desc', after_position: 500 },
    'events_tenant_position',
  ],
  ['time range', { since_ms: 1, until_ms: Date.now() + 1000 }, 'events_tenant_position'],
  ['entity', { entity_id: 'entity-3' }, 'events_entity_version'],
  [
    'entity, newest first',
    { entity_id: 'entity-3', order: 'desc', after_position: 400 },
    'events_entity_version',
  ],
  [
    'entity, types and time',
    { entity_id: 'entity-3', event_types: ['A', 'B'], since_ms: 1 },
    'events_entity_version',
  ],
  ['one type', { event_types: ['B'] }, 'events_type_position'],
  [
    'one type after a cursor, time bound',
    { event_types: ['B'], after_position: 20, until_ms: Date.now() },
    'events_type_position',
  ],
  ['several types', { event_types: ['A', 'C'] }, 'events_type_position'],
  [
    'several types, newest first',
    { event_types: ['A', 'C'], order: 'desc', since_ms: 1 },
    'events_type_position',
  ],
];

/** 8,000 events over `tenants` tenants ('acme' first), 17 entities and 8 types each. */
async function seed(pool: pg.Pool, db: PostgresDatabase, tenants: number): Promise<void> {
  const units: AppendUnit[] = [];
  for (let i = 0; i < 8000; i++) {
    const tenant = i % tenants;
    const n = Math.floor(i / tenants);
    units.push({
      tenant_id: tenant === 0 ? 'acme' : `tenant-${tenant}`,
      entities: [
        {
          entity_id: `entity-${n % 17}`,
          expected_version: 'any',
          events: [{ event_type: 'ABCDEFGH'.charAt(n % 8), payload: { i } }],
        },
      ],
    });
  }
  await createPostgresEventStore(db).appendUnits(units);
  await pool.query('ANALYZE');
}

describe('event query plans', { skip: skipWithoutPostgres }, () => {
  it('serves every filter shape from its index, never a scan of events', async (t) => {
    const { db } = await postgresFixture(t);
    // Many tenants, entities and types, so that each filter is selective.
    await seed(db.pool, db, 40);

    for (const [name, shape, index] of QUERY_SHAPES) {
      await t.test(`query: ${name}`, async () => {
        const query: EventQuery = { order: 'asc', limit: 50, ...shape };
        assertUsesIndex(await plan(db.pool, buildEventQuery('acme', query)), index);
      });
    }
    await t.test('query: a time bound finds its position through event_commits_time', async () => {
      const nodes = await plan(
        db.pool,
        buildEventQuery('acme', { order: 'asc', limit: 5, since_ms: 1 }),
      );
      assert.ok(nodes.some((node) => node['Index Name'] === 'event_commits_time'));
    });
    await t.test('log: cursor and prefix', async () => {
      const sql = buildReadLog('acme', 10, 100, { entity_prefix: 'entity-1' });
      assertUsesIndex(await plan(db.pool, sql), 'events_tenant_position');
    });
    await t.test('log: cursor, prefix and types', async () => {
      const filter = { entity_prefix: 'entity-1', event_types: ['A', 'B'] };
      assertUsesIndex(
        await plan(db.pool, buildReadLog('acme', 10, 100, filter)),
        'events_type_position',
      );
    });
    await t.test('entities: prefix and cursor', async () => {
      const sql = buildListEntities('acme', { prefix: 'entity-1', after: 'entity-10', limit: 10 });
      const nodes = await plan(db.pool, sql);
      assert.ok(
        nodes.some(
          (node) => INDEX_SCANS.has(node['Node Type']) && node['Index Name'] === 'entities_pkey',
        ),
      );
    });
  });

  it("keeps a big tenant's log on its own index range, not a walk of the whole log", async (t) => {
    // With half the log in one tenant, `tenant_id = $1 ORDER BY position` would walk
    // the primary key and filter: fine on average, a scan of the whole tail when
    // the tenant has nothing new there.
    const { db } = await postgresFixture(t);
    await seed(db.pool, db, 2);
    const shapes = {
      'log after a cursor': buildReadLog('acme', 7000, 100),
      'log with a prefix': buildReadLog('acme', 0, 100, { entity_prefix: 'entity-1' }),
      'query, newest first': buildEventQuery('acme', { order: 'desc', limit: 50 }),
      'query, time range': buildEventQuery('acme', { order: 'asc', limit: 50, since_ms: 1 }),
    };
    for (const [name, sql] of Object.entries(shapes)) {
      await t.test(name, async () => {
        const nodes = await plan(db.pool, sql);
        assertUsesIndex(nodes, 'events_tenant_position');
        assert.ok(!nodes.some((node) => node['Index Name'] === 'events_pkey'));
      });
    }
  });
});
