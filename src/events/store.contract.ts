import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { positionOfGeneratedId } from './event-id.ts';
import type {
  AppendOutcome,
  AppendSuccess,
  AppendUnit,
  ExpectedVersion,
  NewEvent,
  StoredEvent,
} from './model.ts';
import type { EventStore } from './store.ts';

/** A fresh, migrated, empty store for one test; closed and removed after it. */
export type OpenEventStore = (t: TestContext) => Promise<EventStore>;

const T1 = 'tenant-one';
const T2 = 'tenant-two';

export const unit = (
  tenant_id: string,
  entity_id: string,
  events: readonly NewEvent[],
  expected_version: ExpectedVersion = 'any',
): AppendUnit => ({ tenant_id, entities: [{ entity_id, expected_version, events }] });

export const ev = (
  event_type: string,
  payload: unknown = {},
  extra: Partial<NewEvent> = {},
): NewEvent => ({
  event_type,
  payload,
  ...extra,
});

export function ok(outcome: AppendOutcome | undefined): AppendSuccess {
  assert.ok(outcome?.ok, `expected success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

async function appendOne(store: EventStore, u: AppendUnit): Promise<AppendOutcome> {
  const [outcome] = await store.appendUnits([u]);
  return outcome as AppendOutcome;
}

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** What every event store engine must do; run by store.contract.test.ts per engine. */
export function eventStoreContract(engine: string, open: OpenEventStore): void {
  describe(`event store contract (${engine})`, () => {
    it('appends with gapless versions, increasing positions and generated ids', async (t) => {
      const store = await open(t);
      assert.equal(await store.headPosition(), 0);
      const first = ok(
        await appendOne(
          store,
          unit(T1, 'order-1', [ev('Created', { a: 1 }), ev('Paid', [1, 'x'])]),
        ),
      );
      assert.equal(first.duplicate, false);
      assert.deepEqual(first.last_versions, { 'order-1': 1 });
      assert.deepEqual(
        first.events.map((e) => [e.entity_id, e.version, e.position]),
        [
          ['order-1', 0, 1],
          ['order-1', 1, 2],
        ],
      );
      for (const e of first.events) assert.equal(positionOfGeneratedId(e.id), e.position);
      const second = ok(
        await appendOne(
          store,
          unit(T1, 'order-1', [ev('Shipped', null, { metadata: { actor: 'u1' } })]),
        ),
      );
      assert.deepEqual(
        second.events.map((e) => [e.version, e.position]),
        [[2, 3]],
      );
      assert.equal(await store.headPosition(), 3);

      const read = await store.readStream(T1, 'order-1', { direction: 'forward', limit: 10 });
      assert.deepEqual(
        read.map((e) => [e.version, e.position, e.event_type, e.payload, e.metadata]),
        [
          [0, 1, 'Created', { a: 1 }, {}],
          [1, 2, 'Paid', [1, 'x'], {}],
          [2, 3, 'Shipped', null, { actor: 'u1' }],
        ],
      );
      for (const e of read) {
        assert.equal(e.tenant_id, T1);
        assert.equal(e.entity_id, 'order-1');
        assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      assert.ok((read[0] as StoredEvent).timestamp <= (read[2] as StoredEvent).timestamp);
    });

    it('round-trips any JSON payload and metadata', async (t) => {
      const store = await open(t);
      const payloads = [
        0,
        -1.5,
        'text',
        true,
        null,
        [],
        { nested: { deep: ['ü', '😀', '\u2028'] } },
        'x'.repeat(5000),
      ];
      ok(
        await appendOne(
          store,
          unit(
            T1,
            'json',
            payloads.map((p) => ev('T', p, { metadata: { correlation_id: 'c', n: [1] } })),
          ),
        ),
      );
      const read = await store.readStream(T1, 'json', { direction: 'forward', limit: 100 });
      assert.deepEqual(
        read.map((e) => e.payload),
        payloads,
      );
      assert.deepEqual(read[0]?.metadata, { correlation_id: 'c', n: [1] });
    });

    it('checks every kind of expected version and reports the actual one', async (t) => {
      const store = await open(t);
      assert.deepEqual(await appendOne(store, unit(T1, 'e', [ev('A')], 'stream_exists')), {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'e',
        expected: 'stream_exists',
        actual: -1,
      });
      assert.deepEqual(await appendOne(store, unit(T1, 'e', [ev('A')], 0)), {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'e',
        expected: 0,
        actual: -1,
      });
      ok(await appendOne(store, unit(T1, 'e', [ev('A')], 'no_stream')));
      const conflict = await appendOne(store, unit(T1, 'e', [ev('B')], 'no_stream'));
      assert.deepEqual(conflict, {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'e',
        expected: 'no_stream',
        actual: 0,
      });
      ok(await appendOne(store, unit(T1, 'e', [ev('B')], 'stream_exists')));
      ok(await appendOne(store, unit(T1, 'e', [ev('C')], 1)));
      const stale = await appendOne(store, unit(T1, 'e', [ev('D')], 1));
      assert.deepEqual(stale, {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'e',
        expected: 1,
        actual: 2,
      });
      ok(await appendOne(store, unit(T1, 'e', [ev('D')], 'any')));
      assert.equal(
        (await store.readStream(T1, 'e', { direction: 'forward', limit: 10 })).length,
        4,
      );
      // Versions are per tenant: the same entity id elsewhere is a new stream.
      ok(await appendOne(store, unit(T2, 'e', [ev('A')], 'no_stream')));
    });

    it('fails a unit alone and atomically, and leaves no gap in positions', async (t) => {
      const store = await open(t);
      ok(await appendOne(store, unit(T1, 'b', [ev('A')])));
      const outcomes = await store.appendUnits([
        unit(T1, 'a', [ev('A1'), ev('A2')]),
        {
          tenant_id: T1,
          entities: [
            { entity_id: 'c', expected_version: 'no_stream', events: [ev('C')] },
            { entity_id: 'b', expected_version: 'no_stream', events: [ev('B')] },
          ],
        },
        unit(T1, 'd', [ev('D')]),
      ]);
      assert.equal(outcomes[1]?.ok, false);
      assert.deepEqual(
        ok(outcomes[0]).events.map((e) => e.position),
        [2, 3],
      );
      assert.deepEqual(
        ok(outcomes[2]).events.map((e) => e.position),
        [4],
      );
      assert.deepEqual(await store.readStream(T1, 'c', { direction: 'forward', limit: 10 }), []);
      const log = await store.readLog(T1, 0, 100);
      assert.deepEqual(
        log.map((e) => e.position),
        [1, 2, 3, 4],
      );
    });

    it('lets a later unit of one call see what an earlier one wrote', async (t) => {
      const store = await open(t);
      const outcomes = await store.appendUnits([
        unit(T1, 's', [ev('A')], 'no_stream'),
        unit(T1, 's', [ev('B')], 0),
        unit(T1, 's', [ev('C')], 0),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.ok),
        [true, true, false],
      );
      assert.deepEqual(ok(outcomes[1]).last_versions, { s: 1 });
    });

    it('checks per-entity expected versions when an entity repeats in a unit', async (t) => {
      const store = await open(t);
      const twice: AppendUnit = {
        tenant_id: T1,
        entities: [
          { entity_id: 'r', expected_version: 'no_stream', events: [ev('A')] },
          { entity_id: 'r', expected_version: 0, events: [ev('B')] },
          { entity_id: 'q', expected_version: 'any', events: [ev('Q')] },
        ],
      };
      const success = ok(await appendOne(store, twice));
      assert.deepEqual(success.last_versions, { r: 1, q: 0 });
      assert.deepEqual(
        success.events.map((e) => [e.entity_id, e.version]),
        [
          ['r', 0],
          ['r', 1],
          ['q', 0],
        ],
      );
      const bad = await appendOne(store, {
        tenant_id: T1,
        entities: [
          { entity_id: 'r', expected_version: 1, events: [ev('C')] },
          { entity_id: 'r', expected_version: 1, events: [ev('D')] },
        ],
      });
      assert.deepEqual(bad, {
        ok: false,
        reason: 'stream_version_conflict',
        entity_id: 'r',
        expected: 1,
        actual: 2,
      });
      assert.equal(await store.headPosition(), 3);
    });

    it('treats a retry with the same ids and content as the original append', async (t) => {
      const store = await open(t);
      const events = [
        ev('A', { x: 1, y: [2] }, { id: uuid(1), metadata: { m: 1 } }),
        ev('B', 'b', { id: uuid(2) }),
      ];
      const original = ok(await appendOne(store, unit(T1, 'idem', events, 'no_stream')));
      ok(await appendOne(store, unit(T1, 'idem', [ev('C')])));
      // Same content with keys in another order; the expected version is stale now.
      const reordered = [
        ev('A', { y: [2], x: 1 }, { id: uuid(1), metadata: { m: 1 } }),
        events[1] as NewEvent,
      ];
      const retry = ok(await appendOne(store, unit(T1, 'idem', reordered, 'no_stream')));
      assert.equal(retry.duplicate, true);
      assert.deepEqual(retry.events, original.events);
      assert.deepEqual(retry.last_versions, { idem: 1 });
      assert.deepEqual(
        original.events.map((e) => e.id),
        [uuid(1), uuid(2)],
      );
      assert.equal(await store.headPosition(), 3);
      assert.equal((await store.getEvent(T1, uuid(2)))?.payload, 'b');
    });

    it('rejects a reused id with other content, a partial retry and a repeated id', async (t) => {
      const store = await open(t);
      ok(await appendOne(store, unit(T1, 'dup', [ev('A', 1, { id: uuid(7) })])));
      const cases: AppendUnit[] = [
        unit(T1, 'dup', [ev('A', 2, { id: uuid(7) })]),
        unit(T1, 'dup', [ev('B', 1, { id: uuid(7) })]),
        unit(T1, 'other', [ev('A', 1, { id: uuid(7) })]),
        unit(T1, 'dup', [ev('A', 1, { id: uuid(7), metadata: { extra: true } })]),
        unit(T1, 'dup', [ev('A', 1, { id: uuid(7) }), ev('N', 1, { id: uuid(8) })]),
        unit(T1, 'dup', [ev('A', 1, { id: uuid(7) }), ev('N')]),
        unit(T1, 'dup', [ev('N', 1, { id: uuid(9) }), ev('N', 1, { id: uuid(9) })]),
      ];
      for (const [index, c] of cases.entries()) {
        const outcome = await appendOne(store, c);
        assert.equal(outcome.ok, false, `case ${index}`);
        assert.equal(!outcome.ok && outcome.reason, 'duplicate_event_id', `case ${index}`);
      }
      assert.equal(await store.headPosition(), 1);
      // Ids are per tenant.
      ok(await appendOne(store, unit(T2, 'dup', [ev('A', 2, { id: uuid(7) })])));
    });

    it('detects a retry inside the same group commit', async (t) => {
      const store = await open(t);
      const same = unit(T1, 'g', [ev('A', { v: 1 }, { id: uuid(3) })]);
      const outcomes = await store.appendUnits([
        same,
        same,
        unit(T1, 'g', [ev('A', { v: 2 }, { id: uuid(3) })]),
      ]);
      assert.equal(ok(outcomes[0]).duplicate, false);
      assert.equal(ok(outcomes[1]).duplicate, true);
      assert.deepEqual(ok(outcomes[1]).events, ok(outcomes[0]).events);
      assert.equal(outcomes[2]?.ok, false);
      assert.equal(await store.headPosition(), 1);
    });

    it('gets an event by generated or client id, only in its tenant', async (t) => {
      const store = await open(t);
      const written = ok(
        await appendOne(store, unit(T1, 'g', [ev('A'), ev('B', 2, { id: uuid(10) })])),
      );
      const [generated, client] = written.events;
      assert.equal((await store.getEvent(T1, generated?.id as string))?.event_type, 'A');
      assert.equal((await store.getEvent(T1, uuid(10)))?.payload, 2);
      assert.equal((await store.getEvent(T1, uuid(10).toUpperCase()))?.id, uuid(10));
      assert.equal(await store.getEvent(T2, generated?.id as string), undefined);
      assert.equal(await store.getEvent(T2, uuid(10)), undefined);
      assert.equal(await store.getEvent(T1, uuid(11)), undefined);
      // The position of an event with a client id is not another id of it.
      const byPosition = written.events.map((e) => e.position);
      const { generatedEventId } = await import('./event-id.ts');
      assert.equal(await store.getEvent(T1, generatedEventId(byPosition[1] as number)), undefined);
      assert.equal(await store.getEvent(T1, generatedEventId(99)), undefined);
      assert.equal(client?.id, uuid(10));
    });

    it('reads a stream forward and backward from a version, with a limit', async (t) => {
      const store = await open(t);
      ok(
        await appendOne(
          store,
          unit(
            T1,
            's',
            Array.from({ length: 10 }, (_, i) => ev('E', i)),
          ),
        ),
      );
      ok(await appendOne(store, unit(T2, 's', [ev('Other')])));
      const versions = (events: StoredEvent[]) => events.map((e) => e.version);
      assert.deepEqual(
        versions(await store.readStream(T1, 's', { direction: 'forward', limit: 3 })),
        [0, 1, 2],
      );
      assert.deepEqual(
        versions(
          await store.readStream(T1, 's', { direction: 'forward', from_version: 8, limit: 5 }),
        ),
        [8, 9],
      );
      assert.deepEqual(
        versions(await store.readStream(T1, 's', { direction: 'backward', limit: 3 })),
        [9, 8, 7],
      );
      assert.deepEqual(
        versions(
          await store.readStream(T1, 's', { direction: 'backward', from_version: 1, limit: 5 }),
        ),
        [1, 0],
      );
      assert.deepEqual(
        await store.readStream(T1, 'missing', { direction: 'forward', limit: 5 }),
        [],
      );
      assert.deepEqual(
        versions(await store.readStream(T2, 's', { direction: 'forward', limit: 50 })),
        [0],
      );
    });

    it('lists entities by id with prefix, cursor and limit', async (t) => {
      const store = await open(t);
      const ids = ['a%b', 'a_c', 'ab', 'abc', 'b', 'a', 'a\\', 'é', 'z'];
      for (const id of ids) ok(await appendOne(store, unit(T1, id, [ev('E'), ev('E')])));
      ok(await appendOne(store, unit(T2, 'abz', [ev('E')])));
      const list = await store.listEntities(T1, { limit: 100 });
      assert.deepEqual(
        list.map((e) => e.entity_id),
        ['a', 'a%b', 'a\\', 'a_c', 'ab', 'abc', 'b', 'z', 'é'],
      );
      assert.equal(list[0]?.version, 1);
      assert.match(list[0]?.last_timestamp ?? '', /Z$/);
      const names = async (options: Parameters<EventStore['listEntities']>[1]) =>
        (await store.listEntities(T1, options)).map((e) => e.entity_id);
      assert.deepEqual(await names({ prefix: 'a%', limit: 10 }), ['a%b']);
      assert.deepEqual(await names({ prefix: 'a_', limit: 10 }), ['a_c']);
      assert.deepEqual(await names({ prefix: 'ab', limit: 10 }), ['ab', 'abc']);
      assert.deepEqual(await names({ prefix: 'a\\', limit: 10 }), ['a\\']);
      assert.deepEqual(await names({ prefix: 'a', after: 'a%b', limit: 2 }), ['a\\', 'a_c']);
      assert.deepEqual(await names({ prefix: 'a', after: 'ab', limit: 2 }), ['abc']);
      assert.deepEqual(await names({ after: 'b', limit: 10 }), ['z', 'é']);
      assert.deepEqual(await names({ prefix: 'q', limit: 10 }), []);
    });

    it('queries by entity, types, time range and cursor in both orders', async (t) => {
      const store = await open(t);
      ok(await appendOne(store, unit(T1, 'x', [ev('A'), ev('B')])));
      await sleep(5);
      const middle = Date.now();
      await sleep(5);
      ok(await appendOne(store, unit(T1, 'y', [ev('A'), ev('C')])));
      ok(await appendOne(store, unit(T2, 'x', [ev('A')])));
      await sleep(5);
      const late = Date.now();
      await sleep(5);
      ok(await appendOne(store, unit(T1, 'x', [ev('C')])));

      const q = async (query: Partial<Parameters<EventStore['query']>[1]>) =>
        (await store.query(T1, { order: 'asc', limit: 100, ...query })).map((e) => e.position);
      assert.deepEqual(await q({}), [1, 2, 3, 4, 6]);
      assert.deepEqual(await q({ order: 'desc' }), [6, 4, 3, 2, 1]);
      assert.deepEqual(await q({ entity_id: 'x' }), [1, 2, 6]);
      assert.deepEqual(await q({ entity_id: 'x', order: 'desc', limit: 2 }), [6, 2]);
      assert.deepEqual(await q({ event_types: ['A'] }), [1, 3]);
      assert.deepEqual(await q({ event_types: ['A', 'C'] }), [1, 3, 4, 6]);
      assert.deepEqual(
        await q({ event_types: ['A', 'C'], order: 'desc', after_position: 4 }),
        [3, 1],
      );
      assert.deepEqual(await q({ since_ms: middle }), [3, 4, 6]);
      assert.deepEqual(await q({ until_ms: middle }), [1, 2]);
      assert.deepEqual(await q({ since_ms: middle, until_ms: late }), [3, 4]);
      assert.deepEqual(await q({ since_ms: late + 60_000 }), []);
      assert.deepEqual(await q({ until_ms: 0 }), []);
      assert.deepEqual(await q({ entity_id: 'x', since_ms: middle }), [6]);
      assert.deepEqual(await q({ event_types: ['C'], until_ms: late }), [4]);
      assert.deepEqual(await q({ after_position: 2, limit: 2 }), [3, 4]);
      assert.deepEqual(
        await q({ entity_id: 'x', event_types: ['B', 'C'], after_position: 2 }),
        [6],
      );
      assert.deepEqual(await q({ entity_id: 'none' }), []);
    });

    it('reads the tenant log after a position with prefix and type filters', async (t) => {
      const store = await open(t);
      ok(await appendOne(store, unit(T1, 'order-1', [ev('A'), ev('B')])));
      ok(await appendOne(store, unit(T2, 'order-1', [ev('A')])));
      ok(await appendOne(store, unit(T1, 'user-1', [ev('A')])));
      ok(await appendOne(store, unit(T1, 'order-2', [ev('C')])));
      const positions = (events: StoredEvent[]) => events.map((e) => e.position);
      assert.deepEqual(positions(await store.readLog(T1, 0, 100)), [1, 2, 4, 5]);
      assert.deepEqual(positions(await store.readLog(T1, 2, 1)), [4]);
      assert.deepEqual(
        positions(await store.readLog(T1, 0, 100, { entity_prefix: 'order-' })),
        [1, 2, 5],
      );
      assert.deepEqual(positions(await store.readLog(T1, 0, 100, { event_types: ['A'] })), [1, 4]);
      assert.deepEqual(
        positions(
          await store.readLog(T1, 0, 100, { entity_prefix: 'order', event_types: ['A', 'C'] }),
        ),
        [1, 5],
      );
      assert.deepEqual(positions(await store.readLog(T2, 0, 100)), [3]);
      assert.equal(await store.headPosition(), 5);
    });

    it('counts events, entities, types and bytes per tenant', async (t) => {
      const store = await open(t);
      assert.deepEqual(await store.stats(T1), { events: 0, entities: 0, event_types: 0, bytes: 0 });
      ok(await appendOne(store, unit(T1, 'a', [ev('A', 'xy'), ev('B', 1)])));
      ok(await appendOne(store, unit(T1, 'b', [ev('A', { k: 'é' }, { metadata: { m: 1 } })])));
      ok(await appendOne(store, unit(T2, 'c', [ev('Z', 1)])));
      const expectedBytes = ['"xy"', '{}', '1', '{}', '{"k":"é"}', '{"m":1}'].reduce(
        (sum, s) => sum + Buffer.byteLength(s),
        0,
      );
      assert.deepEqual(await store.stats(T1), {
        events: 3,
        entities: 2,
        event_types: 2,
        bytes: expectedBytes,
      });
      assert.deepEqual(await store.stats(T2), {
        events: 1,
        entities: 1,
        event_types: 1,
        bytes: 2 + 1,
      });
    });

    it('lets exactly one of many racing appenders win each expected version', async (t) => {
      const store = await open(t);
      const racers = 8;
      for (let version = -1; version < 4; version++) {
        const expected: ExpectedVersion = version < 0 ? 'no_stream' : version;
        const outcomes = await Promise.all(
          Array.from({ length: racers }, (_, i) =>
            appendOne(store, unit(T1, 'race', [ev('R', i)], expected)),
          ),
        );
        assert.equal(outcomes.filter((o) => o.ok).length, 1, `one winner at ${version}`);
      }
      const read = await store.readStream(T1, 'race', { direction: 'forward', limit: 100 });
      assert.deepEqual(
        read.map((e) => e.version),
        [0, 1, 2, 3, 4],
      );
    });
  });
}
