import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalAddress,
  cidrContains,
  formatAddress,
  isIpv4,
  parseAddress,
  parseCidr,
  parseClientAddress,
} from './cidr.ts';

function cidr(text: string) {
  const result = parseCidr(text);
  if ('error' in result) throw new Error(`${text}: ${result.error}`);
  return result.cidr;
}

function refused(text: string): string {
  const result = parseCidr(text);
  assert.ok('error' in result, `${text} should be refused, got ${JSON.stringify(result)}`);
  return result.error;
}

function matches(range: string, address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new Error(`not an address: ${address}`);
  return cidrContains(cidr(range), parsed);
}

describe('parseAddress', () => {
  it('reads IPv4 dotted decimal as the mapped IPv6 address', () => {
    assert.equal(parseAddress('1.2.3.4'), 0xffff_0102_0304n);
    assert.equal(parseAddress('0.0.0.0'), 0xffff_0000_0000n);
    assert.equal(parseAddress('255.255.255.255'), 0xffff_ffff_ffffn);
    assert.equal(parseAddress('1.2.3.4'), parseAddress('::ffff:1.2.3.4'));
    assert.equal(parseAddress('1.2.3.4'), parseAddress('::FFFF:102:304'));
    assert.ok(isIpv4(parseAddress('10.0.0.1') as bigint));
  });

  it('refuses malformed IPv4', () => {
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.999',
      '01.2.3.4',
      '1.2.3.04',
      '1..3.4',
      '1.2.3.',
      '.1.2.3',
      '1.2.3.a',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '+1.2.3.4',
      '1.2.3.-4',
      '0x1.2.3.4',
      '1e2.1.1.1',
    ]) {
      assert.equal(parseAddress(text), undefined, text);
    }
  });

  it('reads every IPv6 form: full, compressed, ::, leading and trailing ::, embedded IPv4', () => {
    const full = parseAddress('2001:0db8:0000:0000:0000:ff00:0042:8329');
    assert.equal(full, 0x2001_0db8_0000_0000_0000_ff00_0042_8329n);
    assert.equal(parseAddress('2001:db8::ff00:42:8329'), full);
    assert.equal(parseAddress('2001:DB8:0:0:0:FF00:42:8329'), full);
    assert.equal(parseAddress('::'), 0n);
    assert.equal(parseAddress('::1'), 1n);
    assert.equal(parseAddress('1::'), 1n << 112n);
    assert.equal(parseAddress('0:0:0:0:0:0:0:1'), 1n);
    assert.equal(parseAddress('1:2:3:4:5:6:7::'), 0x0001_0002_0003_0004_0005_0006_0007_0000n);
    assert.equal(parseAddress('::2:3:4:5:6:7:8'), 0x0000_0002_0003_0004_0005_0006_0007_0008n);
    assert.equal(parseAddress('64:ff9b::192.0.2.33'), 0x0064_ff9b_0000_0000_0000_0000_c000_0221n);
    assert.equal(parseAddress('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), (1n << 128n) - 1n);
    assert.ok(!isIpv4(parseAddress('::1') as bigint));
  });

  it('refuses malformed IPv6', () => {
    for (const text of [
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '12345::',
      'g::1',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:',
      '::1.2.3',
      '::1.2.3.4:5',
      '::256.1.1.1',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[::1]',
      'fe80::1%eth0',
      '::1/64',
    ]) {
      assert.equal(parseAddress(text), undefined, text);
    }
  });

  it('drops a zone from a client address only', () => {
    assert.equal(parseClientAddress('fe80::1%eth0'), parseAddress('fe80::1'));
    assert.equal(parseClientAddress('::ffff:10.0.0.1'), parseAddress('10.0.0.1'));
    assert.equal(parseClientAddress('not an ip'), undefined);
  });

  it('formats IPv4 dotted and IPv6 per RFC 5952', () => {
    const text = (address: string) => formatAddress(parseAddress(address) as bigint);
    assert.equal(text('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(text('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    // The longest run of zeros is compressed; the first of equal runs; never a single group.
    assert.equal(text('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(text('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
    assert.equal(text('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(text('::'), '::');
    assert.equal(text('::1'), '::1');
    assert.equal(text('1::'), '1::');
  });
});

describe('parseCidr', () => {
  it('reads a bare address as a single-host range', () => {
    assert.equal(cidr('1.2.3.4').text, '1.2.3.4/32');
    assert.equal(cidr('1.2.3.4').prefix, 128);
    assert.equal(cidr('2001:db8::1').text, '2001:db8::1/128');
    assert.equal(cidr('::').text, '::/128');
  });

  it('normalises to one canonical text per range', () => {
    assert.equal(cidr('10.0.0.0/8').text, '10.0.0.0/8');
    assert.equal(cidr('2001:0DB8:0:0::/32').text, '2001:db8::/32');
    // Mapped ranges of /96 or longer are IPv4 ranges, written as such.
    assert.equal(cidr('::ffff:10.0.0.0/104').text, '10.0.0.0/8');
    assert.equal(cidr('::ffff:1.2.3.4').text, '1.2.3.4/32');
    assert.equal(cidr('::ffff:0:0/96').text, '0.0.0.0/0');
    assert.equal(cidr('::fffe:0:0/95').text, '::fffe:0:0/95');
    assert.ok(matches('::fffe:0:0/95', '1.2.3.4'), 'a range around ::ffff:0:0/96 holds IPv4');
    assert.deepEqual(cidr('::ffff:10.0.0.0/104'), cidr('10.0.0.0/8'));
  });

  it('takes the edge prefixes /0, /32 and /128', () => {
    assert.equal(cidr('0.0.0.0/0').text, '0.0.0.0/0');
    assert.equal(cidr('0.0.0.0/0').prefix, 96);
    assert.equal(cidr('1.2.3.4/32').text, '1.2.3.4/32');
    assert.equal(cidr('::/0').text, '::/0');
    assert.equal(cidr('::/0').prefix, 0);
    assert.equal(cidr('2001:db8::/32').prefix, 32);
    assert.equal(cidr('2001:db8::1/128').text, '2001:db8::1/128');
  });

  it('refuses prefixes that are too long or not numbers', () => {
    assert.match(refused('1.2.3.4/33'), /too long for IPv4 \(at most \/32\)/);
    assert.match(refused('::/129'), /too long for IPv6 \(at most \/128\)/);
    assert.match(refused('1.2.3.4/'), /not a prefix length/);
    assert.match(refused('1.2.3.4/-1'), /not a prefix length/);
    assert.match(refused('1.2.3.4/08'), /not a prefix length/);
    assert.match(refused('1.2.3.4/8/8'), /not a prefix length/);
    assert.match(refused('1.2.3.4/ 8'), /not a prefix length/);
    assert.match(refused('::/999'), /too long/);
    assert.match(refused('::/1000'), /not a prefix length/);
  });

  it('refuses ranges whose address has host bits set, naming the network', () => {
    assert.match(refused('10.1.2.3/8'), /host bits are set in 10\.1\.2\.3\/8: .* 10\.0\.0\.0\/8/);
    assert.match(refused('2001:db8::1/64'), /2001:db8::\/64/);
    assert.match(refused('0.0.0.1/0'), /0\.0\.0\.0\/0/);
    assert.match(refused('::1/0'), /::\/0/);
  });

  it('refuses what is not an address', () => {
    assert.match(refused('example.com'), /not an IPv4 or IPv6 address/);
    assert.match(refused(''), /not an IPv4 or IPv6 address/);
    assert.match(refused('/8'), /not an IPv4 or IPv6 address/);
    assert.match(refused('300.0.0.0/8'), /not an IPv4 or IPv6 address/);
  });
});

describe('cidrContains', () => {
  it('matches IPv4 ranges', () => {
    assert.ok(matches('10.0.0.0/8', '10.255.255.255'));
    assert.ok(matches('10.0.0.0/8', '10.0.0.0'));
    assert.ok(!matches('10.0.0.0/8', '11.0.0.0'));
    assert.ok(!matches('10.0.0.0/8', '9.255.255.255'));
    assert.ok(matches('192.168.1.128/25', '192.168.1.200'));
    assert.ok(!matches('192.168.1.128/25', '192.168.1.127'));
    assert.ok(matches('1.2.3.4', '1.2.3.4'));
    assert.ok(!matches('1.2.3.4/32', '1.2.3.5'));
  });

  it('/0 of IPv4 is every IPv4 address and no IPv6 one', () => {
    assert.ok(matches('0.0.0.0/0', '0.0.0.0'));
    assert.ok(matches('0.0.0.0/0', '255.255.255.255'));
    assert.ok(!matches('0.0.0.0/0', '::1'));
    assert.ok(!matches('0.0.0.0/0', '2001:db8::1'));
  });

  it('/0 of IPv6 is every address, IPv4 included', () => {
    assert.ok(matches('::/0', '::'));
    assert.ok(matches('::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'));
    assert.ok(matches('::/0', '1.2.3.4'));
  });

  it('matches IPv6 ranges', () => {
    assert.ok(matches('2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'));
    assert.ok(!matches('2001:db8::/32', '2001:db9::'));
    assert.ok(matches('2001:db8:abcd:12::/64', '2001:db8:abcd:12:1:2:3:4'));
    assert.ok(!matches('2001:db8:abcd:12::/64', '2001:db8:abcd:13::'));
    assert.ok(matches('2001:db8::1/128', '2001:0db8:0:0:0:0:0:1'));
    assert.ok(!matches('2001:db8::1/128', '2001:db8::2'));
    assert.ok(matches('fe80::/10', 'febf::1'));
    assert.ok(!matches('fe80::/10', 'fec0::1'));
    assert.ok(matches('::1', '::1'));
    assert.ok(!matches('::1', '::2'));
  });

  it('matches IPv4-mapped clients against IPv4 ranges and mapped ranges against IPv4 clients', () => {
    assert.ok(matches('10.0.0.0/8', '::ffff:10.1.2.3'));
    assert.ok(matches('10.0.0.0/8', '::ffff:a01:203'));
    assert.ok(!matches('10.0.0.0/8', '::ffff:11.1.2.3'));
    assert.ok(matches('::ffff:10.0.0.0/104', '10.9.9.9'));
    assert.ok(matches('::ffff:0:0/96', '8.8.8.8'));
    assert.ok(matches('1.2.3.4', '::ffff:1.2.3.4'));
    // The IPv4-compatible form (::a.b.c.d, deprecated) is a different address.
    assert.ok(!matches('1.2.3.4', '::1.2.3.4'));
  });
});

describe('canonicalAddress', () => {
  it('gives every spelling of an address one text, and nothing for a non-address', () => {
    assert.equal(canonicalAddress('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(canonicalAddress('::FFFF:0a00:0001'), '10.0.0.1');
    assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
    assert.equal(canonicalAddress('not-an-ip'), undefined);
    assert.equal(canonicalAddress('010.0.0.1'), undefined);
  });
});
