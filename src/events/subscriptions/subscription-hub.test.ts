import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { defaultConfig } from '../../config/load.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { StoredEvent } from '../model.ts';
import { type Events, openEvents } from '../open-events.ts';
import type { EventStore } from '../store.ts';
import type { EndReason, SubscriberSink } from './subscriber-sink.ts';
import { createSubscriptionHub, type SubscriptionHub } from './subscription-hub.ts';

interface Recorder {
  readonly sink: SubscriberSink;
  readonly positions: number[];
  readonly ends: EndReason[];
}

/** A transport that takes everything at once and remembers it. */
function recorder(): Recorder {
  const positions: number[] = [];
  const ends: EndReason[] = [];
  const sink: SubscriberSink = {
    send: (event: StoredEvent) => positions.push(event.position) > 0,
    heartbeat() {},
    onDrain() {},
    end: (reason) => void ends.push(reason),
  };
  return { sink, positions, ends };
}

async function openDomain(t: TestContext, engine: Engine): Promise<Events> {
  const { db, cleanup } = await openTestDatabase(engine);
  await migrateToLatest(db, MIGRATIONS);
  const events = await openEvents(db, defaultConfig());
  t.after(async () => {
    await events.close();
    await cleanup();
  });
  return events;
}

/** The real store; `readLog` calls with a filter (a subscriber's catch-up) go through `around`. */
function withCatchUpReads(
  store: EventStore,
  around: (read: () => Promise<StoredEvent[]>) => Promise<StoredEvent[]>,
): EventStore {
  return {
    ...store,
    readLog: (tenantId, after, limit, filter) =>
      filter
        ? around(() => store.readLog(tenantId, after, limit, filter))
        : store.readLog(tenantId, after, limit),
  };
}

function hubOn(events: Events, store: EventStore = events.store): SubscriptionHub {
  return createSubscriptionHub({
    store,
    notifier: events.notifier,
    settings: { ...defaultConfig().subscriptions, heartbeat_ms: 60_000, buffer_events: 100 },
    maxEventBytes: defaultConfig().storage.max_event_bytes,
    onError: () => {},
  });
}

const append = (events: Events, tenantId: string, entityId: string) =>
  events.service
    .appendToEntity(tenantId, entityId, [{ event_type: 'T', payload: {} }], 'any', String)
    .then((success) => success.events[0]?.position as number);

for (const engine of testEngines()) {
  describe(`subscription hand-over on ${engine}`, () => {
    it('reads again when the tailer got past its cursor during the catch-up read', async (t) => {
      const events = await openDomain(t, engine);
      const first = [await append(events, 'a', 'e'), await append(events, 'a', 'e')];
      let interfere = false;
      const watcher = recorder();
      const hub = hubOn(
        events,
        withCatchUpReads(events.store, async (read) => {
          const page = await read();
          if (interfere) {
            interfere = false;
            // Commits and reaches the watcher through the tailer, after our read.
            const late = await append(events, 'a', 'e');
            await until(() => watcher.positions.includes(late), 'the tailer dispatched it');
          }
          return page;
        }),
      );
      hub.open({
        tenantId: 'a',
        from: await events.store.headPosition(),
        filter: {},
        sink: watcher.sink,
      });
      await until(() => hub.stats().live === 1, 'the watcher is live');
      interfere = true;
      const subscriber = recorder();
      hub.open({ tenantId: 'a', from: 0, filter: { event_types: ['T'] }, sink: subscriber.sink });
      await until(() => hub.stats().live === 2, 'the subscriber is live');
      const next = await append(events, 'a', 'e');
      await until(() => subscriber.positions.includes(next), 'the live event arrived');
      assert.deepEqual(subscriber.positions, [...first, ...watcher.positions]);
    });

    it('drops live events its catch-up already delivered', async (t) => {
      const events = await openDomain(t, engine);
      const store = events.store;
      const first = await append(events, 'a', 'e');
      let sneakIn = false;
      const hub = hubOn(
        events,
        withCatchUpReads(store, async (read) => {
          if (sneakIn) {
            sneakIn = false;
            // Written past the service, so no wake-up: the tailer will read it later.
            const unit = {
              entity_id: 'e',
              expected_version: 'any' as const,
              events: [{ event_type: 'T', payload: {} }],
            };
            await store.appendUnits([{ tenant_id: 'a', entities: [unit] }]);
          }
          return read();
        }),
      );
      const watcher = recorder();
      hub.open({ tenantId: 'a', from: first, filter: {}, sink: watcher.sink });
      await until(() => hub.stats().live === 1, 'the watcher is live');
      sneakIn = true;
      const subscriber = recorder();
      hub.open({ tenantId: 'a', from: 0, filter: { entity_prefix: 'e' }, sink: subscriber.sink });
      await until(() => hub.stats().live === 2, 'the subscriber is live');
      const next = await append(events, 'a', 'e');
      await until(() => watcher.positions.includes(next), 'the tailer read past the sneaked event');
      assert.deepEqual(subscriber.positions, [first, first + 1, next]);
      assert.deepEqual(watcher.positions, [first + 1, next]);
    });

    it('ends a subscription whose catch-up read fails, with its last position', async (t) => {
      const events = await openDomain(t, engine);
      const hub = hubOn(
        events,
        withCatchUpReads(events.store, () => Promise.reject(new Error('disk on fire'))),
      );
      const subscriber = recorder();
      hub.open({ tenantId: 'a', from: 7, filter: {}, sink: subscriber.sink });
      await until(() => subscriber.ends.length === 1, 'the subscription ended');
      assert.deepEqual(subscriber.ends, [{ kind: 'failed', lastPosition: 7 }]);
      assert.deepEqual(hub.stats(), {
        tenants: 0,
        catching_up: 0,
        live: 0,
        buffered_bytes: 0,
        closed_too_slow: 0,
      });
    });
  });

  describe(`subscription hub on ${engine}`, () => {
    it('runs one tailer per tenant: one log read per commit for many subscribers', async (t) => {
      const events = await openDomain(t, engine);
      let tailerReads = 0;
      const store = events.store;
      const counting: EventStore = {
        ...store,
        readLog(tenantId, after, limit, filter) {
          if (!filter) tailerReads++;
          return store.readLog(tenantId, after, limit, filter);
        },
      };
      const hub = hubOn(events, counting);
      const from = await store.headPosition();
      const a = Array.from({ length: 20 }, () => recorder());
      const b = recorder();
      for (const { sink } of a) hub.open({ tenantId: 'a', from, filter: {}, sink });
      hub.open({ tenantId: 'b', from, filter: {}, sink: b.sink });
      await until(() => hub.stats().live === 21, 'all are live');
      assert.equal(hub.stats().tenants, 2);
      const before = tailerReads;
      const written = { a: [] as number[], b: [] as number[] };
      for (let i = 0; i < 10; i++) {
        written.a.push(await append(events, 'a', `e-${i}`));
        written.b.push(await append(events, 'b', `e-${i}`));
      }
      await until(
        () => a.every((r) => r.positions.length === 10) && b.positions.length === 10,
        'all delivered',
      );
      for (const r of a) assert.deepEqual(r.positions, written.a);
      assert.deepEqual(b.positions, written.b);
      // Two tailers, 20 commits: without sharing, 21 subscribers would need ~420 reads.
      assert.ok(tailerReads - before <= 2 * 20 + 4, `${tailerReads - before} reads`);
    });
  });
}
