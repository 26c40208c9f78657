import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSse } from '../../../test/helpers/sse-client.ts';
import {
  type SubscriptionTestServer,
  startSubscriptionServer,
} from '../../../test/helpers/subscription-server.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { openWs } from '../../../test/helpers/ws-client.ts';
import type { StoredEvent } from '../model.ts';
import type { LogFilter } from '../store.ts';

interface Reader {
  readonly filter: LogFilter;
  events(count: number): Promise<StoredEvent[]>;
  close(): void;
}

/** Appends batches of 1-3 events to a few entities per writer until stopped. */
async function write(
  server: SubscriptionTestServer,
  tenantId: string,
  writer: number,
  stop: { now: boolean },
) {
  for (let i = 0; !stop.now; i++) {
    const types = Array.from({ length: 1 + (i % 3) }, (_, k) => `T${(i + k) % 2}`);
    const events = types.map((event_type) => ({ event_type, payload: { writer, i } }));
    await server.events.service.appendToEntity(
      tenantId,
      `e-${writer}-${i % 4}`,
      events,
      'any',
      String,
    );
    // SQLite answers within microtasks: without a yield the writers would starve all I/O.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function headReaches(server: SubscriptionTestServer, position: number): Promise<void> {
  await until(
    async () => (await server.events.store.headPosition()) >= position,
    `the writers reached position ${position}`,
  );
}

/** Everything a reader receives up to and including `last`. */
async function readThrough(reader: Reader, last: number): Promise<number[]> {
  const received: number[] = [];
  while (received.at(-1) !== last) {
    const [event] = await reader.events(1);
    received.push((event as StoredEvent).position);
  }
  return received;
}

for (const engine of testEngines()) {
  describe(`catch-up to live hand-over on ${engine}`, () => {
    it('delivers every position exactly once, in order, while writers run', async (t) => {
      const server = await startSubscriptionServer(engine);
      t.after(() => server.close());
      const ws = server.baseUrl.replace(/^http/, 'ws');
      const stop = { now: false };
      const writers = [
        ...[1, 2, 3, 4].map((n) => write(server, server.tenantId, n, stop)),
        write(server, 'other-tenant', 9, stop),
      ];
      const readers: Reader[] = [];
      const filtered: LogFilter = { entity_prefix: 'e-1-', event_types: ['T1'] };
      for (const threshold of [300, 700, 1100]) {
        await headReaches(server, threshold);
        const sse = await openSse(`${server.baseUrl}/events/subscribe?from_position=0`);
        const socket = await openWs(`${ws}/events/stream?from_position=0`);
        const only = await openSse(
          `${server.baseUrl}/events/subscribe?from_position=0&entity_id=e-1-&event_type=T1`,
        );
        readers.push(
          { filter: {}, ...sse },
          { filter: {}, ...socket },
          { filter: filtered, ...only },
        );
      }
      await headReaches(server, 1500);
      stop.now = true;
      await Promise.all(writers);
      // Matches every reader's filter, so each knows where the log ends.
      const marker = await server.events.service.appendToEntity(
        server.tenantId,
        'e-1-end',
        [{ event_type: 'T1', payload: {} }],
        'any',
        String,
      );
      const last = marker.events[0]?.position as number;

      const store = server.events.store;
      for (const reader of readers) {
        const expected = (await store.readLog(server.tenantId, 0, 1_000_000, reader.filter)).map(
          (event) => event.position,
        );
        assert.deepEqual(await readThrough(reader, last), expected);
        reader.close();
      }
    });
  });
}
