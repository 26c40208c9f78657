import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { append, call, eventsApp, tenantApp } from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`query route (${engine})`, () => {
    it('filters by entity, types and time, pages with next_cursor, and travels in time', async (t) => {
      const base = await eventsApp(t, engine);
      const { app } = base;
      const other = await tenantApp(t, base, 'other');
      await append(app, 'x', [
        { event_type: 'A', payload: 1 },
        { event_type: 'B', payload: 2 },
      ]);
      await sleep(5);
      const middle = new Date().toISOString();
      await sleep(5);
      await append(app, 'y', [{ event_type: 'A', payload: 3 }]);
      await append(other, 'x', [{ event_type: 'A', payload: 'other tenant' }]);
      await append(app, 'x', [{ event_type: 'C', payload: 4 }]);

      const positions = async (query: string) => {
        const reply = await call(app, 'GET', `/events/query?${query}`);
        assert.equal(reply.status, 200, `${query}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.count, reply.body.events?.length);
        return reply.body.events?.map((e) => e.position);
      };
      assert.deepEqual(await positions(''), [1, 2, 3, 5]);
      assert.deepEqual(await positions('order=desc'), [5, 3, 2, 1]);
      assert.deepEqual(await positions('entity_id=x'), [1, 2, 5]);
      assert.deepEqual(await positions('event_type=A'), [1, 3]);
      assert.deepEqual(await positions('event_type=A&event_type=C'), [1, 3, 5]);
      assert.deepEqual(await positions(`since=${middle}`), [3, 5]);
      assert.deepEqual(await positions(`until=${middle}`), [1, 2]);
      assert.deepEqual(await positions(`as_of=${middle}`), [1, 2]);
      assert.deepEqual(await positions(`entity_id=x&since=${middle}`), [5]);
      assert.deepEqual(await positions(`event_type=A&as_of=${middle}`), [1]);
      assert.deepEqual(await positions('since=2999-01-01T00:00:00Z'), []);

      const first = await call(app, 'GET', '/events/query?limit=3');
      assert.equal(first.body.next_cursor, 3);
      const second = await call(app, 'GET', '/events/query?limit=3&after=3');
      assert.deepEqual(
        second.body.events?.map((e) => e.position),
        [5],
      );
      assert.equal(second.body.next_cursor, null);
      const back = await call(app, 'GET', '/events/query?limit=2&order=desc&after=5');
      assert.deepEqual(
        back.body.events?.map((e) => e.position),
        [3, 2],
      );
      const theirs = await call(other, 'GET', '/events/query');
      assert.deepEqual(
        theirs.body.events?.map((e) => e.payload),
        ['other tenant'],
      );
    });

    it('rejects bad query parameters with 400 validation_failed', async (t) => {
      const { app } = await eventsApp(t, engine);
      for (const query of [
        'limit=0',
        'limit=10001',
        'order=sideways',
        'since=yesterday',
        'until=2024-13-01T00:00:00Z',
        'as_of=1700000000',
        'after=-1',
        'event_type=bad%20type',
        'entity_id=',
        'colour=red',
      ]) {
        const reply = await call(app, 'GET', `/events/query?${query}`);
        assert.equal(reply.status, 400, query);
        assert.equal(reply.body.code, 'validation_failed', query);
        assert.ok((reply.body.errors as unknown[]).length > 0, query);
      }
    });
  });
}
