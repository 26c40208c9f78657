import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { auditPartition } from '../../audit/audit-entry.ts';
import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { chainHash, GENESIS_HASH } from './chain-hash.ts';
import {
  type ChainStart,
  type ChainVerdict,
  chainVerdict,
  type HashedEvent,
  startChain,
  verifyChain,
  verifyEvents,
} from './verify-chain.ts';

const TENANT = 'acme';
const AUDIT = auditPartition(TENANT);

/**
 * One deployment's log, positions 1-30: every third event is the tenant's audit
 * trail, the rest its own, so each partition's positions have gaps.
 */
function globalLog(count = 30): StoredEvent[] {
  return Array.from({ length: count }, (_, index) => {
    const position = index + 1;
    const audit = position % 3 === 0;
    return {
      id: `0190f5c2-7a3e-7b1d-9c4f-${position.toString(16).padStart(12, '0')}`,
      tenant_id: audit ? AUDIT : TENANT,
      entity_id: audit ? '$audit' : `order-${position % 4}`,
      event_type: audit ? 'user.created' : 'order.placed',
      version: Math.floor(index / 4),
      position,
      timestamp: new Date(Date.UTC(2026, 11, 6, 10) + position * 1000).toISOString(),
      payload: audit
        ? { action: 'user.created', target: `user:${position}` }
        : { total: position * 1.5, lines: [{ sku: `s${position}`, qty: 1 }] },
      metadata: audit ? {} : { source: 'test', nested: { b: 2, a: 1 } },
    };
  });
}

/** A partition's events with their hashes, as the append path will store them. */
function chained(events: readonly StoredEvent[], after = GENESIS_HASH): HashedEvent[] {
  let previous = after;
  return events.map((event) => {
    previous = chainHash(previous, event);
    return { ...event, hash: previous };
  });
}

const log = globalLog();
const tenantChain = chained(log.filter((event) => event.tenant_id === TENANT));
const auditChain = chained(log.filter((event) => event.tenant_id === AUDIT));
const at = (index: number) => tenantChain[index] as HashedEvent;
const start: ChainStart = { partition: TENANT };

/** Expected verdict of a segment broken at `position` after `checked` good events. */
function brokenAt(
  checked: number,
  position: number,
  reason: 'hash_mismatch' | 'out_of_order' | 'wrong_partition',
): ChainVerdict {
  return { ok: false, checked, first_broken: { position, reason } };
}

/** The segment fed in pages of `size`. */
function inPages(
  segment: readonly HashedEvent[],
  size: number,
  from: ChainStart = start,
): ChainVerdict {
  let state = startChain(from);
  for (let offset = 0; offset < segment.length; offset += size) {
    state = verifyEvents(state, segment.slice(offset, offset + size));
  }
  return chainVerdict(state);
}

describe('verifyChain', () => {
  it('verifies each partition of the log as a chain of its own', () => {
    assert.equal(tenantChain.length, 20);
    assert.deepEqual(verifyChain(start, tenantChain), {
      ok: true,
      checked: 20,
      first_broken: null,
    });
    assert.deepEqual(verifyChain({ partition: AUDIT }, auditChain), {
      ok: true,
      checked: 10,
      first_broken: null,
    });
    assert.deepEqual(verifyChain(start, []), { ok: true, checked: 0, first_broken: null });
  });

  it('recomputes what an independent SHA-256 over the canonical forms gives', () => {
    let previous = Buffer.alloc(32);
    for (const event of tenantChain) {
      const next = createHash('sha256').update(previous).update(canonicalEvent(event)).digest();
      assert.equal(event.hash, next.toString('hex'));
      previous = next;
    }
  });

  it('verifies a segment from the middle, given the hash and position before it', () => {
    const before = at(9);
    const rest = tenantChain.slice(10);
    assert.deepEqual(
      verifyChain({ ...start, after: before.hash, afterPosition: before.position }, rest),
      {
        ok: true,
        checked: 10,
        first_broken: null,
      },
    );
    assert.deepEqual(
      verifyChain({ ...start, after: at(8).hash }, rest),
      brokenAt(0, at(10).position, 'hash_mismatch'),
      'started after the wrong event',
    );
    assert.deepEqual(
      verifyChain({ ...start, after: before.hash, afterPosition: at(10).position }, rest),
      brokenAt(0, at(10).position, 'out_of_order'),
      'the first event is not after the start',
    );
  });

  it('refuses to start from something that is not a hash', () => {
    assert.throws(() => startChain({ ...start, after: 'ABC' }), TypeError);
    assert.throws(
      () => startChain({ ...start, after: GENESIS_HASH.toUpperCase().replace(/0/g, 'F') }),
      TypeError,
    );
  });
});

/** Each way of tampering with the tenant's chain, and what the verifier must say. */
const TAMPERS: { name: string; segment: HashedEvent[]; verdict: ChainVerdict }[] = [
  {
    name: 'an edited payload',
    segment: tenantChain.map((event, index) =>
      index === 7 ? { ...event, payload: { total: 1_000_000, lines: [] } } : event,
    ),
    verdict: brokenAt(7, at(7).position, 'hash_mismatch'),
  },
  {
    name: 'an edited payload whose own hash was recomputed',
    segment: tenantChain.map((event, index) => {
      if (index !== 7) return event;
      const edited = { ...event, payload: { total: 1_000_000, lines: [] } };
      return { ...edited, hash: chainHash(at(6).hash, edited) };
    }),
    verdict: brokenAt(8, at(8).position, 'hash_mismatch'),
  },
  {
    name: 'edited metadata (a field outside the payload)',
    segment: tenantChain.map((event, index) =>
      index === 12 ? { ...event, metadata: { source: 'forged' } } : event,
    ),
    verdict: brokenAt(12, at(12).position, 'hash_mismatch'),
  },
  {
    name: 'an altered stored hash',
    segment: tenantChain.map((event, index) =>
      index === 19 ? { ...event, hash: GENESIS_HASH.replace(/^0/, '1') } : event,
    ),
    verdict: brokenAt(19, at(19).position, 'hash_mismatch'),
  },
  {
    name: 'a deleted event: the one after it no longer chains',
    segment: tenantChain.filter((_, index) => index !== 5),
    verdict: brokenAt(5, at(6).position, 'hash_mismatch'),
  },
  {
    name: 'the deleted first event',
    segment: tenantChain.slice(1),
    verdict: brokenAt(0, at(1).position, 'hash_mismatch'),
  },
  {
    name: 'two events swapped in the log',
    segment: [...tenantChain.slice(0, 4), at(5), at(4), ...tenantChain.slice(6)],
    verdict: brokenAt(4, at(5).position, 'hash_mismatch'),
  },
  {
    name: 'two events that exchanged their content, each keeping its position and hash',
    segment: tenantChain.map((event, index) => {
      if (index === 4) return { ...at(5), position: event.position, hash: event.hash };
      if (index === 5) return { ...at(4), position: event.position, hash: event.hash };
      return event;
    }),
    verdict: brokenAt(4, at(4).position, 'hash_mismatch'),
  },
  {
    name: 'an inserted event with a hash that chains: the one after it no longer does',
    segment: (() => {
      // Position 3 belongs to the audit trail: acme's chain goes from 2 to 4.
      const forged: StoredEvent = { ...at(1), id: 'forged', position: 3, payload: { total: -5 } };
      return [
        at(0),
        at(1),
        { ...forged, hash: chainHash(at(1).hash, forged) },
        ...tenantChain.slice(2),
      ];
    })(),
    verdict: brokenAt(3, at(2).position, 'hash_mismatch'),
  },
  {
    name: 'an inserted event with a made-up hash',
    segment: [
      at(0),
      at(1),
      { ...at(1), id: 'forged', position: 3, hash: 'e'.repeat(64) },
      ...tenantChain.slice(2),
    ],
    verdict: brokenAt(2, 3, 'hash_mismatch'),
  },
  {
    name: "an event of the tenant's audit partition",
    segment: [...tenantChain.slice(0, 2), auditChain[0] as HashedEvent, ...tenantChain.slice(2)],
    verdict: brokenAt(2, 3, 'wrong_partition'),
  },
  {
    name: "another tenant's event, hashed into this chain",
    segment: tenantChain.map((event, index) =>
      index === 10 ? { ...event, tenant_id: 'globex' } : event,
    ),
    verdict: brokenAt(10, at(10).position, 'wrong_partition'),
  },
  {
    name: 'an event read twice',
    segment: [...tenantChain.slice(0, 9), at(8), ...tenantChain.slice(9)],
    verdict: brokenAt(9, at(8).position, 'out_of_order'),
  },
  {
    name: 'a position moved back',
    segment: tenantChain.map((event, index) => (index === 9 ? { ...event, position: 2 } : event)),
    verdict: brokenAt(9, 2, 'out_of_order'),
  },
  {
    name: 'pages read newest first',
    segment: [...tenantChain.slice(10), ...tenantChain.slice(0, 10)],
    verdict: brokenAt(0, at(10).position, 'hash_mismatch'),
  },
  {
    name: 'a page repeated',
    segment: [...tenantChain.slice(0, 10), ...tenantChain.slice(5)],
    verdict: brokenAt(10, at(5).position, 'out_of_order'),
  },
  {
    name: 'a payload with no canonical form (a lone surrogate)',
    segment: tenantChain.map((event, index) =>
      index === 3 ? { ...event, payload: '\ud800' } : event,
    ),
    verdict: brokenAt(3, at(3).position, 'hash_mismatch'),
  },
];

describe('a tampered chain', () => {
  for (const { name, segment, verdict } of TAMPERS) {
    it(`reports ${name} where it breaks`, () => {
      assert.deepEqual(verifyChain(start, segment), verdict);
    });
  }

  it('cannot tell, alone, that the last events were deleted (a signed checkpoint can)', () => {
    assert.deepEqual(verifyChain(start, tenantChain.slice(0, 15)), {
      ok: true,
      checked: 15,
      first_broken: null,
    });
  });

  it('cannot tell, alone, that the rest of the chain was rewritten from an edit on', () => {
    const rewritten = chained(
      tenantChain
        .slice(7)
        .map((event, index) => (index === 0 ? { ...event, payload: { total: 0 } } : event)),
      at(6).hash,
    );
    assert.deepEqual(verifyChain(start, [...tenantChain.slice(0, 7), ...rewritten]), {
      ok: true,
      checked: 20,
      first_broken: null,
    });
  });
});

describe('verifying page by page', () => {
  const cases = [{ name: 'the intact chain', segment: tenantChain }, ...TAMPERS];

  it('gives the same verdict as the whole segment at once, whatever the page size', () => {
    for (const { name, segment } of cases) {
      const whole = verifyChain(start, segment);
      for (const size of [1, 2, 3, 7, 19, 20, 50]) {
        assert.deepEqual(inPages(segment, size), whole, `${name}, pages of ${size}`);
      }
    }
  });

  it('leaves the state it is given as it was, and ignores pages after a break', () => {
    const begun = startChain(start);
    const afterFirst = verifyEvents(begun, tenantChain.slice(0, 5));
    assert.deepEqual(begun, {
      partition: TENANT,
      previous: GENESIS_HASH,
      lastPosition: null,
      checked: 0,
      first_broken: null,
    });
    assert.deepEqual(afterFirst, {
      partition: TENANT,
      previous: at(4).hash,
      lastPosition: at(4).position,
      checked: 5,
      first_broken: null,
    });
    const broken = verifyEvents(afterFirst, [at(6)]);
    assert.deepEqual(chainVerdict(broken), brokenAt(5, at(6).position, 'hash_mismatch'));
    assert.equal(verifyEvents(broken, tenantChain.slice(5)), broken);
  });

  it('reads any iterable, a generator included, one event at a time', () => {
    function* stream(): Generator<HashedEvent> {
      yield* tenantChain;
    }
    assert.deepEqual(verifyEvents(startChain(start), stream()).checked, 20);
  });
});

describe('canonical form and hash rate', () => {
  it('measures events per second on a 10,000-event chain (a figure, not an assertion)', (t) => {
    const count = 10_000;
    const events: StoredEvent[] = Array.from({ length: count }, (_, index) => ({
      id: `0190f5c2-7a3e-7b1d-9c4f-${index.toString(16).padStart(12, '0')}`,
      tenant_id: TENANT,
      entity_id: `order-${index % 500}`,
      event_type: 'order.placed',
      version: Math.floor(index / 500),
      position: index * 2 + 1,
      timestamp: new Date(Date.UTC(2026, 11, 6) + index * 37).toISOString(),
      payload: {
        customer: { id: `cust-${index % 97}`, name: 'Zoë Martin', tier: 'gold' },
        lines: [
          { sku: `SKU-${index % 1000}`, qty: (index % 5) + 1, price: 19.99 },
          { sku: 'SKU-0042', qty: 1, price: 4.5 },
        ],
        total: 104.45,
        currency: 'EUR',
        note: 'leave at the door',
      },
      metadata: { source: 'web', request_id: `req-${index}` },
    }));
    const payloadBytes =
      events.reduce((sum, event) => sum + JSON.stringify(event.payload).length, 0) / count;
    /** Events per second of the best of three runs (the first also warms the code up). */
    const rate = (run: () => void) => {
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const begun = process.hrtime.bigint();
        run();
        best = Math.min(best, Number(process.hrtime.bigint() - begun));
      }
      return Math.round(count / (best / 1e9));
    };
    const segment = chained(events);
    const forms = events.map((event) => Buffer.from(canonicalEvent(event)));
    const formBytes = forms.reduce((sum, form) => sum + form.length, 0) / count;

    // Nothing is kept between events, as in a verifier (keeping 10,000 forms costs GC time).
    const canonicalRate = rate(() => {
      for (const event of events) canonicalEvent(event);
    });
    const hashRate = rate(() => {
      let previous = Buffer.alloc(32);
      for (const form of forms)
        previous = createHash('sha256').update(previous).update(form).digest();
    });
    const chainRate = rate(() => {
      let previous = GENESIS_HASH;
      for (const event of events) previous = chainHash(previous, event);
    });
    let verdict: ChainVerdict | undefined;
    const verifyRate = rate(() => {
      verdict = verifyChain(start, segment);
    });

    assert.equal(verdict?.ok, true);
    t.diagnostic(
      `payloads of ${Math.round(payloadBytes)} bytes, canonical forms of ${Math.round(formBytes)} bytes`,
    );
    t.diagnostic(`canonicalEvent alone: ${canonicalRate} events/s`);
    t.diagnostic(`SHA-256 alone, over ready canonical forms: ${hashRate} events/s`);
    t.diagnostic(`chainHash (canonical form and hash): ${chainRate} events/s`);
    t.diagnostic(`verifyChain: ${verifyRate} events/s`);
  });
});
