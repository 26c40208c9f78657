import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EntityState, foldState } from './fold-state.ts';
import type { StoredEvent } from './model.ts';

function event(version: number, payload: unknown, entity_id = 'order-1'): StoredEvent {
  return {
    id: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
    tenant_id: 'acme',
    entity_id,
    event_type: 'order.changed',
    version,
    position: 100 + version,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, version)).toISOString(),
    payload,
    metadata: {},
  };
}

describe('foldState', () => {
  it('is undefined with no start and no events; the start itself with no events', () => {
    assert.equal(foldState(undefined, []), undefined);
    const start: EntityState = {
      entity_id: 'order-1',
      version: 3,
      last_updated: '2025-01-01T00:00:03.000Z',
      state: { a: 1 },
    };
    assert.equal(foldState(start, []), start);
  });

  it('merges payloads in order from null; version and time come from the last event', () => {
    const folded = foldState(undefined, [
      event(0, { status: 'new', items: [1], note: 'x' }),
      event(1, { status: 'paid', note: null, customer: { name: 'Zoë' } }),
      event(2, { customer: { tier: 'gold' } }),
    ]);
    assert.deepEqual(folded, {
      entity_id: 'order-1',
      version: 2,
      last_updated: '2025-01-01T00:00:02.000Z',
      state: { status: 'paid', items: [1], customer: { name: 'Zoë', tier: 'gold' } },
    });
  });

  it('continues from a snapshot without changing it', () => {
    const start: EntityState = {
      entity_id: 'order-1',
      version: 4,
      last_updated: '2025-01-01T00:00:04.000Z',
      state: { total: 10, lines: { a: 1 } },
    };
    const before = structuredClone(start);
    const folded = foldState(start, [event(5, { lines: { b: 2 } }), event(6, { total: 12 })]);
    assert.deepEqual(folded?.state, { total: 12, lines: { a: 1, b: 2 } });
    assert.equal(folded?.version, 6);
    assert.equal(folded?.last_updated, '2025-01-01T00:00:06.000Z');
    assert.deepEqual(start, before);
  });

  it('lets a non-object payload replace the state (and null clear it)', () => {
    assert.equal(foldState(undefined, [event(0, { a: 1 }), event(1, 'flat')])?.state, 'flat');
    assert.equal(foldState(undefined, [event(0, { a: 1 }), event(1, null)])?.state, null);
    assert.deepEqual(foldState(undefined, [event(0, null), event(1, { a: 1 })])?.state, { a: 1 });
  });

  it('refuses a gap, a repeat, a start without version 0 or another entity', () => {
    assert.throws(() => foldState(undefined, [event(1, {})]), /expected version 0/);
    assert.throws(() => foldState(undefined, [event(0, {}), event(2, {})]), /expected version 1/);
    assert.throws(() => foldState(undefined, [event(0, {}), event(0, {})]), /expected version 1/);
    assert.throws(
      () => foldState(undefined, [event(0, {}), event(1, {}, 'order-2')]),
      /entity "order-2" folded into "order-1"/,
    );
  });
});
