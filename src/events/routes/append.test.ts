import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  append,
  call,
  eventCount,
  eventsApp,
  tenantApp,
  uuid,
} from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`append routes (${engine})`, () => {
    it('appends to an entity and answers 201 with versions and positions', async (t) => {
      const { app } = await eventsApp(t, engine);
      const first = await append(app, 'order-1', [
        { event_type: 'Created', payload: { total: 5 } },
        { event_type: 'Paid', payload: {} },
      ]);
      assert.equal(first.status, 201);
      assert.equal(first.body.entity_id, 'order-1');
      assert.equal(first.body.last_version, 1);
      assert.deepEqual(
        first.body.events?.map((e) => [e.version, e.position]),
        [
          [0, 1],
          [1, 2],
        ],
      );
      const second = await append(
        app,
        'order-1',
        [{ event_type: 'Shipped', payload: null, metadata: { correlation_id: 'c-1' } }],
        1,
      );
      assert.equal(second.status, 201);
      assert.equal(second.body.last_version, 2);
      const read = await call(app, 'GET', '/entities/order-1/events');
      assert.deepEqual(
        read.body.events?.map((e) => [e.event_type, e.payload, e.metadata]),
        [
          ['Created', { total: 5 }, {}],
          ['Paid', {}, {}],
          ['Shipped', null, { correlation_id: 'c-1' }],
        ],
      );
    });

    it('answers 409 stream_version_conflict with expected and actual, writing nothing', async (t) => {
      const { app } = await eventsApp(t, engine);
      assert.equal(
        (await append(app, 'e', [{ event_type: 'A', payload: 1 }], 'no_stream')).status,
        201,
      );
      for (const expected of [5, 'no_stream']) {
        const conflict = await append(app, 'e', [{ event_type: 'B', payload: 1 }], expected);
        assert.equal(conflict.status, 409);
        assert.equal(conflict.body.code, 'stream_version_conflict');
        assert.equal(conflict.body.expected, expected);
        assert.equal(conflict.body.actual, 0);
        assert.equal(conflict.body.entity_id, 'e');
        assert.match(String(conflict.headers['content-type']), /application\/problem\+json/);
      }
      const missing = await append(app, 'new', [{ event_type: 'B', payload: 1 }], 'stream_exists');
      assert.equal(missing.status, 409);
      assert.equal(missing.body.actual, -1);
      assert.equal(await eventCount(app), 1);
    });

    it('answers an idempotent retry with the original result and 200, and a reused id with 409', async (t) => {
      const { app } = await eventsApp(t, engine);
      const events = [
        { id: uuid(1), event_type: 'A', payload: { x: 1 } },
        { id: uuid(2).toUpperCase(), event_type: 'B', payload: [1] },
      ];
      const original = await append(app, 'idem', events, 'no_stream');
      assert.equal(original.status, 201);
      assert.deepEqual(
        original.body.events?.map((e) => e.id),
        [uuid(1), uuid(2)],
      );
      const retry = await append(app, 'idem', events, 'no_stream');
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body, original.body);
      const changed = await append(app, 'idem', [
        { id: uuid(1), event_type: 'A', payload: { x: 2 } },
      ]);
      assert.equal(changed.status, 409);
      assert.equal(changed.body.code, 'duplicate_event_id');
      assert.equal(changed.body.event_id, uuid(1));
      assert.equal(await eventCount(app), 2);
      assert.equal((await call(app, 'GET', `/events/${uuid(2)}`)).body.event_type, 'B');
    });

    it('rejects every bad append with a 4xx problem and writes nothing', async (t) => {
      const { app } = await eventsApp(t, engine, {
        storage: { max_event_bytes: 1024, max_batch_events: 5 },
      });
      const ok = { event_type: 'A', payload: 1 };
      const cases: [string, string, unknown, number, string, string?][] = [
        ['no events', 'e', {}, 400, 'validation_failed', '/events'],
        ['empty events', 'e', { events: [] }, 400, 'validation_failed', '/events'],
        [
          'bad type',
          'e',
          { events: [ok, { event_type: 'has space', payload: 1 }] },
          400,
          'validation_failed',
          '/events/1/event_type',
        ],
        [
          'long type',
          'e',
          { events: [{ event_type: 'x'.repeat(129), payload: 1 }] },
          400,
          'validation_failed',
          '/events/0/event_type',
        ],
        [
          'no payload',
          'e',
          { events: [{ event_type: 'A' }] },
          400,
          'validation_failed',
          '/events/0/payload',
        ],
        [
          'unknown field',
          'e',
          { events: [{ ...ok, extra: 1 }] },
          400,
          'validation_failed',
          '/events/0/extra',
        ],
        [
          'metadata array',
          'e',
          { events: [{ ...ok, metadata: [1] }] },
          400,
          'validation_failed',
          '/events/0/metadata',
        ],
        [
          'bad uuid',
          'e',
          { events: [{ ...ok, id: 'not-a-uuid' }] },
          400,
          'validation_failed',
          '/events/0/id',
        ],
        [
          'reserved id',
          'e',
          { events: [{ ...ok, id: '7e55e7a0-0000-8000-8000-000000000001' }] },
          400,
          'validation_failed',
          '/events/0/id',
        ],
        ['negative version', 'e', { events: [ok], expected_version: -1 }, 400, 'validation_failed'],
        [
          'word version',
          'e',
          { events: [ok], expected_version: 'latest' },
          400,
          'validation_failed',
        ],
        [
          'NUL in payload',
          'e',
          { events: [{ event_type: 'A', payload: { s: 'a\u0000b' } }] },
          400,
          'invalid_characters',
          '/events/0/payload/s',
        ],
        [
          'lone surrogate',
          'e',
          { events: [{ event_type: 'A', payload: ['\ud800'] }] },
          400,
          'invalid_characters',
          '/events/0/payload/0',
        ],
        [
          'too large',
          'e',
          { events: [{ event_type: 'A', payload: 'x'.repeat(2000) }] },
          413,
          'event_too_large',
        ],
        ['too many', 'e', { events: Array.from({ length: 6 }, () => ok) }, 413, 'batch_too_large'],
        ['leading space id', ' e', { events: [ok] }, 400, 'validation_failed', '/params/entity_id'],
        [
          'control char id',
          'e\u0001',
          { events: [ok] },
          400,
          'validation_failed',
          '/params/entity_id',
        ],
        [
          'long id',
          'e'.repeat(257),
          { events: [ok] },
          400,
          'validation_failed',
          '/params/entity_id',
        ],
      ];
      for (const [name, entity, body, status, code, path] of cases) {
        const reply = await call(
          app,
          'POST',
          `/entities/${encodeURIComponent(entity)}/events`,
          body,
        );
        assert.equal(reply.status, status, name);
        assert.equal(reply.body.code, code, name);
        assert.ok(reply.body.request_id, name);
        if (path)
          assert.ok(
            (reply.body.errors as { path: string }[]).some((e) => e.path === path),
            `${name}: ${JSON.stringify(reply.body.errors)}`,
          );
      }
      const malformed = await app.inject({
        method: 'POST',
        url: '/api/v1/entities/e/events',
        headers: { 'content-type': 'application/json' },
        payload: '{"events": [',
      });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().code, 'malformed_json');
      const text = await app.inject({
        method: 'POST',
        url: '/api/v1/entities/e/events',
        headers: { 'content-type': 'text/plain' },
        payload: 'hi',
      });
      assert.equal(text.statusCode, 415);
      assert.equal(await eventCount(app), 0);
      // The longest id, in 4-byte characters (12 URL characters each), is fine.
      const longest = '😀'.repeat(128);
      assert.equal(longest.length, 256);
      assert.equal((await append(app, longest, [ok])).status, 201);
      assert.equal(
        (await call(app, 'GET', `/entities/${encodeURIComponent(longest)}/events`)).body.entity_id,
        longest,
      );
    });

    it('ingests one event or an atomic batch across entities with per-event expected versions', async (t) => {
      const { app } = await eventsApp(t, engine);
      const single = await call(app, 'POST', '/events', {
        entity_id: 'user-1',
        event_type: 'Registered',
        payload: { name: 'ann' },
      });
      assert.equal(single.status, 201);
      assert.deepEqual(single.body.last_versions, { 'user-1': 0 });
      const batch = await call(app, 'POST', '/events', {
        events: [
          {
            entity_id: 'user-1',
            event_type: 'Renamed',
            payload: { name: 'bo' },
            expected_version: 0,
          },
          {
            entity_id: 'user-2',
            event_type: 'Registered',
            payload: {},
            expected_version: 'no_stream',
          },
          {
            entity_id: 'user-1',
            event_type: 'Renamed',
            payload: { name: 'cy' },
            expected_version: 1,
          },
        ],
      });
      assert.equal(batch.status, 201);
      assert.deepEqual(
        batch.body.events?.map((e) => [e.entity_id, e.version, e.position]),
        [
          ['user-1', 1, 2],
          ['user-2', 0, 3],
          ['user-1', 2, 4],
        ],
      );
      assert.deepEqual(batch.body.last_versions, { 'user-1': 2, 'user-2': 0 });
      const conflict = await call(app, 'POST', '/events', {
        events: [
          { entity_id: 'user-3', event_type: 'Registered', payload: {} },
          { entity_id: 'user-2', event_type: 'Renamed', payload: {}, expected_version: 7 },
        ],
      });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.body.entity_id, 'user-2');
      const invalid = await call(app, 'POST', '/events', {
        events: [
          { entity_id: 'user-4', event_type: 'Registered', payload: {} },
          { entity_id: 'user-4', event_type: 'Renamed', payload: {} },
          { entity_id: 'user-4', event_type: 'Renamed' },
        ],
      });
      assert.equal(invalid.status, 400);
      assert.deepEqual(invalid.body.errors, [
        { path: '/events/2/payload', message: 'is required' },
      ]);
      const noEntity = await call(app, 'POST', '/events', { event_type: 'A', payload: 1 });
      assert.equal(noEntity.status, 400);
      assert.deepEqual(noEntity.body.errors, [{ path: '/entity_id', message: 'is required' }]);
      assert.equal((await call(app, 'POST', '/events', [1, 2])).status, 400);
      assert.equal(await eventCount(app), 4);
    });

    it('lets exactly one of many concurrent appenders win each expected version', async (t) => {
      const { app } = await eventsApp(t, engine);
      for (let version = 0; version < 3; version++) {
        const expected = version === 0 ? 'no_stream' : version - 1;
        const replies = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            append(app, 'race', [{ event_type: 'R', payload: i }], expected),
          ),
        );
        assert.equal(replies.filter((r) => r.status === 201).length, 1);
        assert.ok(
          replies.every((r) => r.status === 201 || r.body.code === 'stream_version_conflict'),
        );
      }
      const read = await call(app, 'GET', '/entities/race/events');
      assert.deepEqual(
        read.body.events?.map((e) => e.version),
        [0, 1, 2],
      );
    });

    it('keeps tenants apart: versions, ids and reads are per tenant', async (t) => {
      const base = await eventsApp(t, engine);
      const other = await tenantApp(t, base, 'other');
      assert.equal(
        (await append(base.app, 'shared', [{ id: uuid(5), event_type: 'A', payload: 'mine' }]))
          .status,
        201,
      );
      // Same entity and same client id in another tenant: a new stream, a new event.
      const theirs = await append(
        other,
        'shared',
        [{ id: uuid(5), event_type: 'A', payload: 'theirs' }],
        'no_stream',
      );
      assert.equal(theirs.status, 201);
      assert.equal(theirs.body.last_version, 0);
      assert.equal((await call(other, 'GET', `/events/${uuid(5)}`)).body.payload, 'theirs');
      assert.equal((await call(base.app, 'GET', `/events/${uuid(5)}`)).body.payload, 'mine');
      const generated = (await append(base.app, 'private', [{ event_type: 'A', payload: 1 }])).body
        .events?.[0]?.id;
      assert.equal((await call(other, 'GET', `/events/${generated}`)).status, 404);
      assert.deepEqual((await call(other, 'GET', '/entities/private/events')).body.events, []);
      const ingested = await call(other, 'POST', '/events', {
        entity_id: 'private',
        event_type: 'A',
        payload: 2,
      });
      assert.deepEqual(ingested.body.last_versions, { private: 0 });
      assert.deepEqual(
        (await call(base.app, 'GET', '/entities/private/events')).body.events?.map(
          (e) => e.payload,
        ),
        [1],
      );
      assert.equal(await eventCount(other), 2);
    });
  });
}
