/**
 * IPv4 and IPv6 addresses and CIDR ranges (RFC 4632, RFC 4291 §2.3), as 128-bit
 * numbers. An IPv4 address is held as its IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * RFC 4291 §2.5.5.2), so `1.2.3.4` and `::ffff:1.2.3.4` are one address and an IPv4
 * range `a.b.c.d/n` is the IPv6 range `::ffff:a.b.c.d/(96+n)`. A client reaching a
 * dual-stack socket over IPv4 shows up as the mapped form and matches IPv4 ranges.
 *
 * Consequence, by design: an IPv6 range that contains ::ffff:0:0/96 (`::/0`, `::/64`)
 * also contains every IPv4 address. `0.0.0.0/0` is every IPv4 address and nothing else.
 */

/** An address as a number below 2^128. */
export type Address = bigint;

export interface Cidr {
  /** The first address of the range. */
  readonly network: Address;
  /** The prefix length in the 128-bit space (an IPv4 /24 is 120 here). */
  readonly prefix: number;
  /** The canonical text: IPv4 ranges in dotted form, IPv6 in RFC 5952 form, always with `/n`. */
  readonly text: string;
}

export type CidrResult = { readonly cidr: Cidr } | { readonly error: string };

const MAPPED_PREFIX = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;
const OCTET = /^(0|[1-9]\d{0,2})$/;
const GROUP = /^[0-9a-f]{1,4}$/i;
const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;

/** True when `address` is an IPv4 address (held in its mapped form). */
export function isIpv4(address: Address): boolean {
  return address >> 32n === 0xffffn;
}

/**
 * An address written as IPv4 dotted decimal (strict: four decimal octets 0-255, no
 * leading zeros, which some parsers read as octal) or IPv6 text (with at most one
 * `::`, optionally ending in dotted IPv4). Undefined when it is neither.
 */
export function parseAddress(text: string): Address | undefined {
  if (text.includes(':')) return parseIpv6(text);
  const v4 = parseIpv4(text);
  return v4 === undefined ? undefined : MAPPED_PREFIX | v4;
}

/**
 * The address a request came from, as Node reports it: like `parseAddress`, but a
 * zone (`fe80::1%eth0`) is dropped, since zones are local to the host.
 */
export function parseClientAddress(ip: string): Address | undefined {
  const zone = ip.indexOf('%');
  return parseAddress(zone < 0 ? ip : ip.slice(0, zone));
}

/**
 * One spelling per address (dotted IPv4, RFC 5952 IPv6, no zone), so whatever names
 * an address by its text (a lockout row, an operator clearing it) finds the same one:
 * `::ffff:10.0.0.1` is `10.0.0.1`, `2001:DB8:0:0::1` is `2001:db8::1`. Undefined for
 * something that is not an address.
 */
export function canonicalAddress(ip: string): string | undefined {
  const address = parseClientAddress(ip);
  return address === undefined ? undefined : formatAddress(address);
}

/**
 * A range: an address, optionally `/prefix` (a bare address is /32 or /128). The
 * address must be the range's first: `10.1.2.3/8` is refused, not silently read as
 * `10.0.0.0/8`, since whoever wrote it may have meant the single host.
 */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === undefined) {
    return { error: `"${addressText}" is not an IPv4 or IPv6 address` };
  }
  const written4 = !addressText.includes(':');
  const max = written4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(prefixText)) {
      return { error: `"/${prefixText}" is not a prefix length (a whole number from 0 to ${max})` };
    }
    length = Number(prefixText);
    if (length > max) {
      return {
        error: `the prefix length /${length} is too long for ${written4 ? 'IPv4' : 'IPv6'} (at most /${max})`,
      };
    }
  }
  const prefix = written4 ? 96 + length : length;
  const network = address & maskOf(prefix);
  if (network !== address) {
    const cidr = { network, prefix, text: formatCidr(network, prefix) };
    return { error: `host bits are set in ${text}: the range starting there is ${cidr.text}` };
  }
  return { cidr: { network, prefix, text: formatCidr(network, prefix) } };
}

/** True when `address` lies in `cidr`. */
export function cidrContains(cidr: Pick<Cidr, 'network' | 'prefix'>, address: Address): boolean {
  return (address & maskOf(cidr.prefix)) === cidr.network;
}

/** The mask keeping the first `prefix` bits of 128. */
export function maskOf(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL_ONES >> BigInt(128 - prefix)) << BigInt(128 - prefix);
}

/** An address as text: dotted IPv4 for IPv4 (mapped) addresses, else RFC 5952 IPv6. */
export function formatAddress(address: Address): string {
  if (isIpv4(address)) return formatIpv4(address & 0xffffffffn);
  return formatIpv6(address);
}

function formatCidr(network: Address, prefix: number): string {
  if (prefix >= 96 && isIpv4(network)) return `${formatIpv4(network & 0xffffffffn)}/${prefix - 96}`;
  return `${formatIpv6(network)}/${prefix}`;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): Address | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const count = head.length + tail.length;
  // Without `::` all eight groups are written; `::` stands for one or more zero groups.
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const groups = [...head, ...new Array<bigint>(8 - count).fill(0n), ...tail];
  return groups.reduce((value, group) => (value << 16n) | group, 0n);
}

/**
 * The 16-bit groups of one side of `::` (empty text: none). Dotted IPv4 may end the
 * address (`last`), as two groups.
 */
function groupsOf(text: string, last: boolean): bigint[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: bigint[] = [];
  for (const [i, part] of parts.entries()) {
    if (last && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else if (GROUP.test(part)) {
      groups.push(BigInt(`0x${part}`));
    } else {
      return undefined;
    }
  }
  return groups;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (2+) of zero groups as `::`. */
function formatIpv6(address: Address): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) =>
    Number((address >> shift) & 0xffffn),
  );
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}
