import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddress } from '../../platform/cidr.ts';
import { compileRules, type FilterEntry, listOf, refuses } from './ip-filter-rules.ts';

let ids = 0;
const entry = (
  action: 'allow' | 'block',
  cidr: string,
  tenant: string | null = null,
): FilterEntry => ({
  id: String(ids++),
  tenant_id: tenant,
  cidr,
  action,
});

const refused = (entries: FilterEntry[], ip: string) => refuses(listOf(entries), parseAddress(ip));

describe('IP filter rules', () => {
  it('an empty list refuses nobody, an unreadable address included', () => {
    assert.ok(!refused([], '192.0.2.1'));
    assert.ok(!refuses(listOf([]), undefined));
  });

  it('a block entry refuses what it covers and nothing else', () => {
    const list = [entry('block', '192.0.2.0/24'), entry('block', '2001:db8::/32')];
    assert.ok(refused(list, '192.0.2.200'));
    assert.ok(refused(list, '::ffff:192.0.2.200'));
    assert.ok(refused(list, '2001:db8:1::'));
    assert.ok(!refused(list, '192.0.3.1'));
    assert.ok(!refused(list, '2001:db9::'));
    assert.ok(!refuses(listOf(list), undefined), 'an unreadable address matches no block');
  });

  it('a non-empty allow list admits only its ranges; a block inside it still refuses', () => {
    const list = [
      entry('allow', '10.0.0.0/8'),
      entry('allow', '2001:db8::/48'),
      entry('block', '10.66.0.0/16'),
    ];
    assert.ok(!refused(list, '10.1.2.3'));
    assert.ok(!refused(list, '2001:db8:0:1::1'));
    assert.ok(refused(list, '2001:db8:1::1'));
    assert.ok(refused(list, '11.0.0.1'));
    assert.ok(refused(list, '10.66.1.1'));
    assert.ok(refuses(listOf(list), undefined), 'an unreadable address is in no allowed range');
  });

  it('matches with ranges of every prefix length in one list', () => {
    const list = [
      entry('block', '0.0.0.0/0'),
      entry('allow', '::/0'),
      entry('block', '2001:db8::1'),
      entry('block', 'fe80::/10'),
    ];
    assert.ok(refused(list, '8.8.8.8'));
    assert.ok(refused(list, '2001:db8::1'));
    assert.ok(refused(list, 'fe80::1'));
    assert.ok(!refused(list, '2001:db8::2'));
  });

  it('compiles each scope apart and reports entries that do not parse', () => {
    const invalid: string[] = [];
    const rules = compileRules(
      [
        entry('block', '192.0.2.0/24', 'acme'),
        entry('allow', 'garbage', 'acme'),
        entry('block', '::1'),
      ],
      (bad) => invalid.push(bad.cidr),
    );
    assert.deepEqual(invalid, ['garbage']);
    assert.ok(refuses(rules.tenant('acme'), parseAddress('192.0.2.1')));
    assert.ok(
      refuses(rules.tenant('acme'), parseAddress('198.51.100.1')),
      'an unreadable allow entry admits nobody, but still makes the allow list non-empty',
    );
    assert.ok(!refuses(rules.tenant('beta'), parseAddress('192.0.2.1')));
    assert.ok(refuses(rules.global, parseAddress('::1')));
    assert.ok(!refuses(rules.global, parseAddress('192.0.2.1')));
  });
});
