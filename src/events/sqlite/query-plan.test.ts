import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openTestDatabase } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { EventQuery } from '../model.ts';
import { buildEventQuery } from './query-events.ts';

const CASES: [string, Partial<EventQuery>, RegExp][] = [
  ['entity', { entity_id: 'e' }, /USING INDEX events_entity_version/],
  [
    'entity and time',
    { entity_id: 'e', since_ms: 1, until_ms: 9 },
    /USING INDEX events_entity_version/,
  ],
  ['one type', { event_types: ['A'] }, /USING INDEX events_type_position/],
  [
    'types, descending',
    { event_types: ['A', 'B'], order: 'desc' },
    /USING INDEX events_type_position/,
  ],
  ['type and time', { event_types: ['A'], since_ms: 1 }, /USING INDEX events_type_position/],
  ['time only', { since_ms: 1, until_ms: 9 }, /USING INDEX events_tenant_position/],
  ['cursor only', { after_position: 10 }, /USING INDEX events_tenant_position/],
  ['nothing', {}, /USING INDEX events_tenant_position/],
];

it('serves every query filter shape from an index on SQLite, never a table scan', async (t) => {
  const { db, cleanup } = await openTestDatabase('sqlite');
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  if (db.engine !== 'sqlite') throw new Error('expected SQLite');
  for (const [name, filters, expected] of CASES) {
    const { sql, values } = buildEventQuery('t', { order: 'asc', limit: 10, ...filters });
    const plan = await db.withRaw((raw) =>
      raw
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...values)
        .map((row) => String(row.detail)),
    );
    const text = plan.join('\n');
    assert.match(text, expected, `${name}:\n${text}`);
    assert.doesNotMatch(text, /^SCAN events(?! USING)/m, `${name}:\n${text}`);
    // Time bounds resolve through the commit-time index, not a scan of commits.
    if (filters.since_ms !== undefined)
      assert.match(
        text,
        /event_commits USING (COVERING )?INDEX event_commits_time/,
        `${name}:\n${text}`,
      );
  }
});
