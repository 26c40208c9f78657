import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { append, call, eventsApp, tenantApp } from '../../../test/helpers/events.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

for (const engine of testEngines()) {
  describe(`state and snapshot routes (${engine})`, () => {
    it('folds payloads with JSON Merge Patch, now and as of a time', async (t) => {
      const { app } = await eventsApp(t, engine);
      await append(app, 'cart', [
        { event_type: 'Created', payload: { items: { apple: 1 }, owner: 'ann' } },
        { event_type: 'Added', payload: { items: { pear: 2 } } },
      ]);
      await sleep(5);
      const before = new Date().toISOString();
      await sleep(5);
      await append(app, 'cart', [
        { event_type: 'Removed', payload: { items: { apple: null }, owner: null } },
      ]);
      const now = await call(app, 'GET', '/entities/cart/state');
      assert.equal(now.status, 200);
      assert.deepEqual(now.body.state, { items: { pear: 2 } });
      assert.equal(now.body.version, 2);
      assert.equal(now.body.entity_id, 'cart');
      const then = await call(app, 'GET', `/entities/cart/state?as_of=${before}`);
      assert.deepEqual(then.body.state, { items: { apple: 1, pear: 2 }, owner: 'ann' });
      assert.equal(then.body.version, 1);
      const missing = await call(app, 'GET', '/entities/none/state');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'entity_not_found');
      const tooEarly = await call(app, 'GET', '/entities/cart/state?as_of=2000-01-01T00:00:00Z');
      assert.equal(tooEarly.status, 404);
      assert.equal((await call(app, 'GET', '/entities/cart/state?as_of=soon')).status, 400);
    });

    it('takes, lists and serves snapshots, and state starts from the newest one', async (t) => {
      const base = await eventsApp(t, engine);
      const { app } = base;
      await append(app, 'acct', [{ event_type: 'Opened', payload: { balance: 0 } }]);
      const taken = await call(app, 'POST', '/snapshots', { entity_id: 'acct' });
      assert.equal(taken.status, 201);
      assert.deepEqual(
        [taken.body.version, taken.body.position, taken.body.state],
        [0, 1, { balance: 0 }],
      );
      await append(app, 'acct', [{ event_type: 'Deposited', payload: { balance: 10 } }]);
      await call(app, 'POST', '/snapshots', { entity_id: 'acct' });
      await append(app, 'acct', [{ event_type: 'Tagged', payload: { tag: 'vip' } }]);
      const latest = await call(app, 'GET', '/snapshots/acct/latest');
      assert.deepEqual([latest.body.version, latest.body.state], [1, { balance: 10 }]);
      const list = await call(app, 'GET', '/snapshots?entity_id=acct&limit=1');
      assert.deepEqual(
        (list.body.snapshots as { version: number }[]).map((s) => s.version),
        [1],
      );
      assert.equal(list.body.next_cursor, 1);
      const older = await call(app, 'GET', '/snapshots?entity_id=acct&limit=1&after=1');
      assert.deepEqual(
        (older.body.snapshots as { version: number }[]).map((s) => s.version),
        [0],
      );
      assert.deepEqual((await call(app, 'GET', '/entities/acct/state')).body.state, {
        balance: 10,
        tag: 'vip',
      });

      const other = await tenantApp(t, base, 'other');
      assert.equal(
        (await call(other, 'GET', '/snapshots/acct/latest')).body.code,
        'snapshot_not_found',
      );
      assert.deepEqual((await call(other, 'GET', '/snapshots?entity_id=acct')).body.snapshots, []);
      assert.equal(
        (await call(other, 'POST', '/snapshots', { entity_id: 'acct' })).body.code,
        'entity_not_found',
      );
      assert.equal((await call(other, 'GET', '/entities/acct/state')).status, 404);
      for (const body of [{}, { entity_id: '' }, { entity_id: 'acct', extra: 1 }]) {
        assert.equal((await call(app, 'POST', '/snapshots', body)).status, 400);
      }
      assert.equal((await call(app, 'GET', '/snapshots')).status, 400);
    });

    it('snapshots automatically every N events', async (t) => {
      const { app } = await eventsApp(t, engine, { storage: { snapshot_every_events: 3 } });
      await append(app, 'auto', [
        { event_type: 'A', payload: { a: 1 } },
        { event_type: 'A', payload: { b: 1 } },
      ]);
      assert.equal((await call(app, 'GET', '/snapshots/auto/latest')).status, 404);
      await append(app, 'auto', [{ event_type: 'A', payload: { c: 1 } }]);
      const third = await call(app, 'GET', '/snapshots/auto/latest');
      assert.deepEqual([third.body.version, third.body.state], [2, { a: 1, b: 1, c: 1 }]);
      await append(
        app,
        'auto',
        Array.from({ length: 7 }, (_, i) => ({ event_type: 'A', payload: { [`n${i}`]: i } })),
      );
      const list = await call(app, 'GET', '/snapshots?entity_id=auto');
      assert.deepEqual(
        (list.body.snapshots as { version: number }[]).map((s) => s.version),
        [9, 2],
      );
      const state = await call(app, 'GET', '/entities/auto/state');
      assert.equal(state.body.version, 9);
      assert.equal(Object.keys(state.body.state as object).length, 10);
    });
  });
}
