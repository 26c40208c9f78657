import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import { MAX_SERVED_DEPTH } from '../deep-json.ts';
import type { StoredEvent } from '../model.ts';
import { CHAINED_FIELDS, canonicalEvent } from './canonical-event.ts';

const event: StoredEvent = {
  id: '0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f35',
  tenant_id: 'acme',
  entity_id: 'order-1',
  event_type: 'order.placed',
  version: 0,
  position: 7,
  timestamp: '2026-12-06T10:00:00.000Z',
  payload: { total: 12.5, items: ['a'] },
  metadata: {},
};

/** The event's canonical form with another payload (the envelope is fixed above). */
function withPayload(payload: unknown): string {
  return canonicalEvent({ ...event, payload });
}

/** A number given by its IEEE 754 bits, as RFC 8785 Appendix B lists them. */
function ieee(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('RFC 8785 through the canonicalize library', () => {
  it('sorts keys by UTF-16 code units at every depth, arrays keep their order', () => {
    assert.equal(
      canonicalize({
        b: { d: 1, c: [{ z: 1, y: 2 }] },
        a: [3, 1, 2],
        B: true,
        10: 'ten',
        9: 'nine',
      }),
      '{"10":"ten","9":"nine","B":true,"a":[3,1,2],"b":{"c":[{"y":2,"z":1}],"d":1}}',
    );
  });

  it('sorts the keys of the RFC example (3.2.3): surrogate pairs sort by their code units', () => {
    const input = JSON.parse(
      String.raw`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
    );
    // Written out rather than parsed back: JSON.parse would put the key "1" first again.
    assert.equal(
      canonicalize(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers as ECMAScript does (RFC 8785 Appendix B)', () => {
    const cases: [bits: string, expected: string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // -0
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of cases) assert.equal(canonicalize(ieee(bits)), expected, bits);
  });

  it('reads numbers as their value, not their spelling', () => {
    assert.equal(
      canonicalize(JSON.parse('[1.0, 1e21, 1E21, -0, 0.000001, 1e-7, 100e-2, 4.50]')),
      '[1,1e+21,1e+21,0,0.000001,1e-7,1,4.5]',
    );
    // Beyond 2^53 JSON numbers are doubles already when parsed: the canonical form is the double's.
    assert.equal(
      canonicalize(JSON.parse('[9007199254740993, 12345678901234567890]')),
      '[9007199254740992,12345678901234567000]',
    );
  });

  it('refuses what has no canonical form: NaN, infinities, lone surrogates', () => {
    assert.throws(() => canonicalize([Number.NaN]));
    assert.throws(() => canonicalize({ a: Number.POSITIVE_INFINITY }));
    assert.throws(() => canonicalize(ieee('7ff0000000000000')));
    assert.throws(() => canonicalize({ a: 'x\ud800' }));
    assert.throws(() => canonicalize({ '\udc00': 1 }));
  });

  it('escapes strings minimally: short escapes, \\u00xx for other controls, the rest as is', () => {
    assert.equal(
      canonicalize('\u0000\u0001\b\t\n\u000b\f\r\u001f \u007f"\\/é€😀\u2028'),
      '"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \u007f\\"\\\\/é€😀\u2028"',
    );
  });

  it('gives the RFC example (3.2.4) byte for byte', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    assert.equal(
      canonicalize(JSON.parse(input)),
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });
});

describe('canonicalEvent', () => {
  it('is the RFC 8785 form of the nine chained fields', () => {
    assert.equal(
      canonicalEvent(event),
      '{"entity_id":"order-1","event_type":"order.placed","id":"0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f35","metadata":{},"payload":{"items":["a"],"total":12.5},"position":7,"tenant_id":"acme","timestamp":"2026-12-06T10:00:00.000Z","version":0}',
    );
    assert.deepEqual(
      Object.keys(JSON.parse(canonicalEvent(event))).sort(),
      [...CHAINED_FIELDS].sort(),
    );
  });

  it('ignores every other property, and the order properties were written in', () => {
    const extended = {
      hash: 'f'.repeat(64),
      prev_hash: '0'.repeat(64),
      time_ms: 1,
      metadata: {},
      payload: { items: ['a'], total: 12.5 },
      timestamp: event.timestamp,
      position: 7,
      version: 0,
      event_type: 'order.placed',
      entity_id: 'order-1',
      tenant_id: 'acme',
      id: event.id,
    };
    assert.equal(canonicalEvent(extended), canonicalEvent(event));
  });

  it('covers every chained field: changing any one changes the form', () => {
    const changed: Partial<Record<keyof StoredEvent, unknown>> = {
      id: '0190f5c2-7a3e-7b1d-9c4f-2e8a6b0d1f36',
      tenant_id: 'acme2',
      entity_id: 'order-2',
      event_type: 'order.paid',
      version: 1,
      position: 8,
      timestamp: '2026-12-06T10:00:00.001Z',
      payload: { total: 12.51, items: ['a'] },
      metadata: { source: 'x' },
    };
    for (const field of CHAINED_FIELDS) {
      assert.notEqual(
        canonicalEvent({ ...event, [field]: changed[field] }),
        canonicalEvent(event),
        field,
      );
    }
  });

  it('keeps payloads and metadata of any JSON kind, canonicalized inside', () => {
    assert.match(withPayload(null), /"payload":null,/);
    assert.match(withPayload('text'), /"payload":"text",/);
    assert.match(withPayload([2, 1]), /"payload":\[2,1\],/);
    assert.match(withPayload({ b: 1.0, a: -0 }), /"payload":\{"a":0,"b":1\},/);
    assert.match(
      canonicalEvent({ ...event, metadata: { z: 1, a: { y: 2, x: 1 } } }),
      /"metadata":\{"a":\{"x":1,"y":2\},"z":1\},/,
    );
  });

  it('refuses an event without one of the fields rather than dropping it', () => {
    assert.throws(() => withPayload(undefined), /no payload/);
    const { metadata: _, ...noMetadata } = event;
    assert.throws(() => canonicalEvent(noMetadata as StoredEvent), /no metadata/);
    assert.throws(() => withPayload({ a: '\ud800' }), /[Ss]urrogate/);
  });

  it('canonicalizes the deepest payload the server accepts, and deeper ones stored before', () => {
    // server.max_json_depth is at most MAX_SERVED_DEPTH (1000) levels.
    let arrays: unknown = 1;
    let objects: unknown = 'leaf';
    for (let level = 0; level < MAX_SERVED_DEPTH; level++) {
      arrays = [arrays];
      objects = { b: objects, a: level };
    }
    assert.ok(withPayload(arrays).includes(`"payload":${'['.repeat(1000)}1${']'.repeat(1000)},`));
    const deepObjects = withPayload(objects);
    assert.ok(deepObjects.includes(`"payload":{"a":999,"b":{"a":998,"b":`));
    assert.ok(deepObjects.includes(`{"a":0,"b":"leaf"}${'}'.repeat(999)},"position"`));
    // Far beyond any stack: the library walks with a stack of its own.
    let deeper: unknown = [];
    for (let level = 0; level < 100_000; level++) deeper = [deeper];
    assert.equal(
      withPayload(deeper).length,
      canonicalEvent({ ...event, payload: 0 }).length + 200_001,
    );
  });

  it('equals the library on the whole object, whatever the members hold', () => {
    const whole = (e: Record<string, unknown>) =>
      canonicalize(Object.fromEntries(CHAINED_FIELDS.map((field) => [field, e[field]])));
    const strings = [
      '',
      'plain',
      'q"uo\\te',
      'tab\tnew\nline\u0000\u001f\u007f',
      'é€😀\u2028',
      '</script>',
    ];
    const values: unknown[] = [
      null,
      true,
      0,
      -0,
      1e21,
      5e-324,
      'x',
      [],
      {},
      [1, 'a', null],
      { z: { b: 2, a: [3, { d: 4, c: 5 }] }, é: 1, '😀': 2, '\r': 3 },
      { toJSON: () => ({ b: 1, a: 2 }) },
      { when: new Date(0) },
      // Objects with no enumerable keys that are not the plain empty `{}`.
      Object.defineProperty({}, 'toJSON', { value: () => ({ hidden: 1 }) }),
      Object.create(null),
      Object.create({ inherited: 1 }),
      new (class Empty {})(),
      { [Symbol('s')]: 1 },
    ];
    const events: Record<string, unknown>[] = [];
    for (const text of strings) {
      events.push({
        ...event,
        id: text,
        tenant_id: text,
        entity_id: text,
        event_type: text,
        timestamp: text,
      });
    }
    for (const value of values)
      events.push({ ...event, payload: value }, { ...event, metadata: value });
    // Members of types the envelope never holds: the library on the whole object.
    events.push({ ...event, version: '1' }, { ...event, position: 7.5 }, { ...event, id: 12 });
    events.push({ ...event, payload: { toJSON: () => undefined } });
    for (const e of events) assert.equal(canonicalEvent(e as unknown as StoredEvent), whole(e));
    // And what the library refuses, refused too.
    for (const bad of [
      { id: '\udc00' },
      { timestamp: 'a\ud800' },
      { version: Number.NaN },
      { position: Infinity },
    ]) {
      const e = { ...event, ...bad };
      assert.throws(() => whole(e));
      assert.throws(() => canonicalEvent(e as StoredEvent));
    }
  });
});
