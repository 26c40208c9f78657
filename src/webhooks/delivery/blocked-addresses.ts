import { BlockList, isIP } from 'node:net';

/**
 * IPv4 ranges a webhook may never reach: anything that is not a public unicast address.
 * A webhook URL is chosen by a tenant, so without this list it would let them make the
 * server call itself, its private network or the cloud metadata service (SSRF).
 */
const BLOCKED_IPV4: readonly (readonly [network: string, prefix: number])[] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, with the cloud metadata service 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // 6to4 relay anycast, deprecated
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, with the broadcast address 255.255.255.255
];

/** IPv6 ranges that are never a public endpoint, whatever follows the prefix. */
const BLOCKED_IPV6: readonly (readonly [network: string, prefix: number])[] = [
  ['::', 96], // unspecified ::, loopback ::1, and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments: Teredo (hides an IPv4 address), benchmarking
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique local (private), with the AWS metadata service fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local, deprecated
  ['ff00::', 8], // multicast
];

/**
 * IPv6 prefixes that carry an IPv4 address, which a gateway or the host's own stack may
 * connect to: such an address is blocked when the IPv4 address it carries is. `at` is
 * where the IPv4 address starts (in bits); `address` builds the IPv6 network from the
 * IPv4 network written as two hex groups.
 */
const IPV4_CARRIERS: readonly { readonly at: number; address(groups: string): string }[] = [
  { at: 96, address: (groups) => `::ffff:${groups}` }, // IPv4-mapped
  { at: 96, address: (groups) => `::ffff:0:${groups}` }, // IPv4-translated (SIIT)
  { at: 96, address: (groups) => `64:ff9b::${groups}` }, // NAT64
  { at: 16, address: (groups) => `2002:${groups}::` }, // 6to4
];

/** An IPv4 address as the two 16-bit hex groups IPv6 writes it in: 10.1.2.3 → a01:203. */
function hexGroups(ipv4: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

const blocked = new BlockList();
for (const [network, prefix] of BLOCKED_IPV4) {
  blocked.addSubnet(network, prefix, 'ipv4');
  for (const carrier of IPV4_CARRIERS) {
    blocked.addSubnet(carrier.address(hexGroups(network)), carrier.at + prefix, 'ipv6');
  }
}
for (const [network, prefix] of BLOCKED_IPV6) blocked.addSubnet(network, prefix, 'ipv6');

/**
 * Whether a webhook may not connect to `address` (an IPv4 or IPv6 address, as DNS or a
 * URL gives it). Anything that is not an IP address is blocked: it cannot be vouched for.
 */
export function isBlockedAddress(address: string): boolean {
  // A zone (fe80::1%eth0) only says which interface: BlockList does not match it.
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return true;
  return blocked.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
