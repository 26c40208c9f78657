import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { buildTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

/**
 * Issue 15 item 13: "nothing already stored can break a read". A snapshot whose state
 * nests thousands of levels deep (folded from events stored before the door refused
 * such bodies) is written here straight into the table, deeper than JSON.stringify
 * can recurse. Every read of state and snapshots answers, serving that state as its
 * JSON text, as deep event payloads are served (deep-stored-read.test.ts).
 */

// More than JSON.stringify survives (about 4,500 here), less than jsonb refuses.
const LEVELS = 6000;
const deepText = `${'{"a":'.repeat(LEVELS)}1${'}'.repeat(LEVELS)}`;

for (const engine of testEngines()) {
  describe(`reading a snapshot stored too deep to serialize (${engine})`, () => {
    let testApp: TestApp;
    const get = async (url: string) => {
      const response = await testApp.app.inject({ url: `/api/v1${url}` });
      assert.equal(response.statusCode, 200, response.body.slice(0, 300));
      return response.json();
    };

    before(async () => {
      testApp = await buildTestApp({}, engine);
      const append = await testApp.app.inject({
        method: 'POST',
        url: '/api/v1/entities/deep/events',
        payload: { events: [{ event_type: 'Shallow', payload: { ok: true } }] },
      });
      assert.equal(append.statusCode, 201);
      const state = engine === 'postgres' ? sql`${deepText}::jsonb` : sql`${deepText}`;
      await sql`INSERT INTO snapshots (tenant_id, entity_id, version, position, time_ms, state, created_ms)
        VALUES ('default', 'deep', 0, 1, 0, ${state}, 0)`.execute(testApp.db.kysely);
    });
    after(() => testApp.close());

    it('GET /entities/deep/state starts from it and answers its JSON text', async () => {
      const body = await get('/entities/deep/state');
      assert.equal(body.version, 0);
      assert.equal(body.state, deepText);
    });

    it('GET /entities/deep/state?as_of= answers too', async () => {
      const body = await get('/entities/deep/state?as_of=1970-01-01T00:00:00.000Z');
      assert.equal(body.state, deepText);
    });

    it('GET /snapshots/deep/latest and GET /snapshots list it', async () => {
      assert.equal((await get('/snapshots/deep/latest')).state, deepText);
      const page = await get('/snapshots?entity_id=deep');
      assert.equal(page.snapshots.length, 1);
      assert.equal(page.snapshots[0].state, deepText);
    });

    it('later events fold onto it, and a new snapshot of that state can be taken', async () => {
      const append = await testApp.app.inject({
        method: 'POST',
        url: '/api/v1/entities/deep/events',
        payload: { events: [{ event_type: 'Replaced', payload: { fresh: true } }] },
      });
      assert.equal(append.statusCode, 201);
      assert.deepEqual((await get('/entities/deep/state')).state, { fresh: true });
      const snapshot = await testApp.app.inject({
        method: 'POST',
        url: '/api/v1/snapshots',
        payload: { entity_id: 'deep' },
      });
      assert.equal(snapshot.statusCode, 201, snapshot.body.slice(0, 300));
      assert.deepEqual(snapshot.json().state, { fresh: true });
    });
  });
}
