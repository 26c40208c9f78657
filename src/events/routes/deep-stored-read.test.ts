import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

/**
 * Issue 15 item 13: an event nested thousands of levels deep, stored before the door
 * refused such bodies, must not break any read. It is written here straight into the
 * table (the HTTP door would refuse it), deeper than JSON.stringify can recurse.
 */

// More than JSON.stringify survives (about 4,500 here), less than jsonb refuses.
const LEVELS = 6000;
const deepText = `${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}`;

for (const engine of testEngines()) {
  describe(`reading an event stored too deep to serialize (${engine})`, () => {
    let testApp: TestApp;

    before(async () => {
      testApp = await buildTestApp({}, engine);
      const append = await testApp.app.inject({
        method: 'POST',
        url: '/api/v1/entities/deep/events',
        payload: { events: [{ event_type: 'Shallow', payload: { ok: true } }] },
      });
      assert.equal(append.statusCode, 201);
      const payload = engine === 'postgres' ? sql`${deepText}::jsonb` : sql`${deepText}`;
      const metadata = engine === 'postgres' ? sql`'{}'::jsonb` : sql`'{}'`;
      await sql`INSERT INTO events (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata)
        VALUES (2, 'default', 'deep', 1, 'Deep', 0, ${payload}, ${metadata})`.execute(
        testApp.db.kysely,
      );
      await sql`UPDATE entities SET version = 1, last_position = 2 WHERE tenant_id = 'default' AND entity_id = 'deep'`.execute(
        testApp.db.kysely,
      );
      await sql`UPDATE event_log_head SET position = 2`.execute(testApp.db.kysely);
    });
    after(() => testApp.close());

    it('GET /api/v1/entities/deep/state folds it without failing', async () => {
      const response = await testApp.app.inject({ url: '/api/v1/entities/deep/state' });
      assert.equal(response.statusCode, 200, response.body.slice(0, 300));
    });

    for (const url of [
      '/api/v1/entities/deep/events',
      '/api/v1/events/query?entity_id=deep',
      '/api/v1/events/7e55e7a0-0000-8000-8000-000000000002',
    ]) {
      it(`GET ${url} answers 200 with the stored JSON text`, async () => {
        const response = await testApp.app.inject({ url });
        assert.equal(response.statusCode, 200, response.body.slice(0, 300));
        const body = response.json();
        const events = body.events ?? [body];
        const stored = events.find((event: { event_type: string }) => event.event_type === 'Deep');
        assert.ok(stored, 'the deep event is in the answer');
        assert.equal(stored.payload, deepText.replaceAll('][', '],['));
      });
    }
  });
}
