import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, eventsApp } from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { assertChainsIntact } from '../chain-append.contract.ts';

/**
 * The hash chain through the HTTP door (issue 22): what the door accepts chains, and
 * what has no canonical form (a number JSON.parse turns into Infinity) is refused
 * with a 4xx before anything is written.
 */
for (const engine of testEngines()) {
  describe(`hash chain through the append routes (${engine})`, () => {
    it('chains events appended over HTTP and the audit trail of an admin action', async (t) => {
      const { app, db } = await eventsApp(t, engine);
      const single = await call(app, 'POST', '/entities/order-1/events', {
        events: [
          { event_type: 'Placed', payload: { total: 12.5, lines: [{ sku: 'a', qty: 1.0 }] } },
          { event_type: 'Noted', payload: 'text', metadata: { correlation_id: 'c-1' } },
        ],
      });
      assert.equal(single.status, 201, JSON.stringify(single.body));
      const ingest = await call(app, 'POST', '/events', {
        events: [
          { entity_id: 'order-2', event_type: 'Placed', payload: null },
          { entity_id: 'order-1', event_type: 'Paid', payload: [1, 2, 3] },
        ],
      });
      assert.equal(ingest.status, 201, JSON.stringify(ingest.body));
      const key = await call(app, 'POST', '/auth/api-keys', { name: 'ci', role: 'service' });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const chains = await assertChainsIntact(db, engine);
      assert.equal(chains.get('default')?.events, 4);
      assert.ok((chains.get('$audit:default')?.events ?? 0) >= 1, 'the key’s creation is audited');
    });

    for (const [route, url, body] of [
      [
        'an entity’s events, in a payload',
        '/entities/order-1/events',
        '{"events":[{"event_type":"Placed","payload":{"total":1e400}}]}',
      ],
      [
        'an entity’s events, in metadata',
        '/entities/order-1/events',
        '{"events":[{"event_type":"Placed","payload":{},"metadata":{"n":-1e400}}]}',
      ],
      [
        'an ingest batch',
        '/events',
        '{"events":[{"entity_id":"a","event_type":"A","payload":1},{"entity_id":"b","event_type":"B","payload":[1e999]}]}',
      ],
    ] as const) {
      it(`refuses a number beyond a double (${route}) with 400 and writes nothing`, async (t) => {
        const { app, db } = await eventsApp(t, engine);
        const before = await assertChainsIntact(db, engine);
        const response = await app.inject({
          method: 'POST',
          url: `/api/v1${url}`,
          headers: { 'content-type': 'application/json' },
          payload: body,
        });
        assert.equal(response.statusCode, 400, response.body);
        assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        const problem = response.json();
        assert.equal(problem.code, 'validation_failed');
        assert.deepEqual(
          problem.errors.map((error: { message: string }) => error.message),
          ['must be a finite number'],
        );
        assert.deepEqual(await assertChainsIntact(db, engine), before);
      });
    }
  });
}
