import { type Address, maskOf, parseCidr } from '../../platform/cidr.ts';
import type { IpFilterAction, IpFilterScope } from './ip-filter-store.ts';

/**
 * A set of ranges answering "is this address in one of them" with one hash lookup
 * per distinct prefix length (at most 129), however many ranges it holds.
 */
export interface RangeSet {
  readonly size: number;
  has(address: Address): boolean;
}

export function rangeSet(
  ranges: readonly { network: Address; prefix: number }[],
  unreadable = 0,
): RangeSet {
  const byPrefix = new Map<number, Set<bigint>>();
  for (const { network, prefix } of ranges) {
    const networks = byPrefix.get(prefix) ?? new Set<bigint>();
    networks.add(network);
    byPrefix.set(prefix, networks);
  }
  const levels = [...byPrefix].map(([prefix, networks]) => ({ mask: maskOf(prefix), networks }));
  return {
    // Entries that could not be read count, though they match nothing (see compileRules).
    size: ranges.length + unreadable,
    has: (address) => levels.some(({ mask, networks }) => networks.has(address & mask)),
  };
}

/** One scope's list: global, or one tenant's. */
export interface IpFilterList {
  readonly allow: RangeSet;
  readonly block: RangeSet;
}

const EMPTY_LIST: IpFilterList = { allow: rangeSet([]), block: rangeSet([]) };

/**
 * Whether the list refuses a client: a block entry covers it, or the allow list is
 * not empty and none of its entries covers it. An address that cannot be read (a
 * trusted proxy sent garbage) is in no range: refused only by a non-empty allow list.
 */
export function refuses(list: IpFilterList, address: Address | undefined): boolean {
  if (address === undefined) return list.allow.size > 0;
  return list.block.has(address) || (list.allow.size > 0 && !list.allow.has(address));
}

/** Every scope's list, as each node keeps them in memory. */
export interface IpFilterRules {
  readonly global: IpFilterList;
  /** The tenant's list (empty when it has none). */
  tenant(tenantId: string): IpFilterList;
}

export interface FilterEntry {
  readonly id: string;
  readonly tenant_id: IpFilterScope;
  readonly cidr: string;
  readonly action: IpFilterAction;
}

export const NO_RULES: IpFilterRules = { global: EMPTY_LIST, tenant: () => EMPTY_LIST };

/**
 * Compiles stored entries. An entry whose range does not parse (written by hand, not
 * through Tessera) is reported and matches nothing; every other entry still applies.
 * An unreadable allow entry still makes its allow list non-empty: failing closed,
 * since whoever wrote it meant to restrict access.
 */
export function compileRules(
  entries: readonly FilterEntry[],
  onInvalid: (entry: FilterEntry, error: string) => void = () => {},
): IpFilterRules {
  type Ranges = { network: Address; prefix: number }[];
  const grouped = new Map<
    IpFilterScope,
    { allow: Ranges; block: Ranges; unreadableAllows: number }
  >();
  for (const entry of entries) {
    const lists = grouped.get(entry.tenant_id) ?? { allow: [], block: [], unreadableAllows: 0 };
    grouped.set(entry.tenant_id, lists);
    const parsed = parseCidr(entry.cidr);
    if ('error' in parsed) {
      onInvalid(entry, parsed.error);
      if (entry.action === 'allow') lists.unreadableAllows++;
      continue;
    }
    lists[entry.action]?.push(parsed.cidr);
  }
  const compiled = new Map<IpFilterScope, IpFilterList>();
  for (const [scope, lists] of grouped) {
    compiled.set(scope, {
      allow: rangeSet(lists.allow, lists.unreadableAllows),
      block: rangeSet(lists.block),
    });
  }
  return {
    global: compiled.get(null) ?? EMPTY_LIST,
    tenant: (tenantId) => compiled.get(tenantId) ?? EMPTY_LIST,
  };
}

/** One scope's entries as a list (for checking a change before making it). */
export function listOf(entries: readonly FilterEntry[]): IpFilterList {
  return compileRules(entries.map((entry) => ({ ...entry, tenant_id: null }))).global;
}
