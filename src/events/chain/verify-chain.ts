import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { GENESIS_HASH, isChainHash, linkHash } from './chain-hash.ts';

/**
 * Why a chain is broken, as reported (stable strings: routes and the CLI print them).
 * - `hash_mismatch`: the event's stored hash is not SHA-256(previous hash ‖ canonical
 *   form). The event was edited, or its predecessor in the chain was deleted, swapped
 *   or inserted, or its own stored hash was altered.
 * - `out_of_order`: its position is not greater than the previous event's.
 * - `wrong_partition`: it belongs to another partition (another `tenant_id`).
 */
export type ChainBreakReason = 'hash_mismatch' | 'out_of_order' | 'wrong_partition';

/** An event as the ledger reads it: the event and the hash stored with it. */
export type HashedEvent = StoredEvent & { readonly hash: string };

export interface ChainBreak {
  /** The position of the first event that does not verify. */
  readonly position: number;
  readonly reason: ChainBreakReason;
}

export interface ChainVerdict {
  readonly ok: boolean;
  /** Events that verified: all of them when ok, those before the break otherwise. */
  readonly checked: number;
  readonly first_broken: ChainBreak | null;
}

/**
 * Where a verification stands between two pages of events. It holds no event, so a
 * verifier reading millions of them needs memory for one page at a time. Each step
 * returns a new state and leaves the one it was given as it was.
 */
export interface ChainState {
  /** The partition (`tenant_id`) whose chain this is. */
  readonly partition: string;
  /** The hash the next event must chain from: the last verified event's. */
  readonly previous: string;
  /** The last verified event's position; null before the first when the start's is unknown. */
  readonly lastPosition: number | null;
  readonly checked: number;
  /** Set at the first break; every later event is then ignored. */
  readonly first_broken: ChainBreak | null;
}

export interface ChainStart {
  readonly partition: string;
  /**
   * The stored hash of the event just before the segment, or GENESIS_HASH (the
   * default) when the segment starts at the partition's first event.
   */
  readonly after?: string | undefined;
  /** That event's position, when known: the segment's first event must come after it. */
  readonly afterPosition?: number | undefined;
}

/** The state before any event of a segment. Throws when `after` is not a chain hash. */
export function startChain(start: ChainStart): ChainState {
  const after = start.after ?? GENESIS_HASH;
  if (!isChainHash(after)) throw new TypeError('The starting hash must be 64 lowercase hex digits');
  return {
    partition: start.partition,
    previous: after,
    lastPosition: start.afterPosition ?? null,
    checked: 0,
    first_broken: null,
  };
}

/**
 * Verifies the next events of the segment, in the order given (which must be position
 * order), and stops at the first that does not verify. Feed a segment page by page,
 * each call with the state the previous one returned: the verdict is the same as for
 * the whole segment at once.
 *
 * Each event is checked against its predecessor's stored hash (once that has
 * verified, it is the recomputed one), so one check needs nothing older: a long
 * chain can also be cut into ranges verified side by side, each started after the
 * stored hash and position of the event before it.
 */
export function verifyEvents(state: ChainState, events: Iterable<HashedEvent>): ChainState {
  if (state.first_broken) return state;
  let { previous, lastPosition, checked } = state;
  let broken: ChainBreak | null = null;
  for (const event of events) {
    const reason = breakOf(state.partition, previous, lastPosition, event);
    if (reason) {
      broken = { position: event.position, reason };
      break;
    }
    previous = event.hash;
    lastPosition = event.position;
    checked += 1;
  }
  return { partition: state.partition, previous, lastPosition, checked, first_broken: broken };
}

/** What a state says so far (or in the end, once the segment's last page is fed). */
export function chainVerdict(state: ChainState): ChainVerdict {
  return {
    ok: state.first_broken === null,
    checked: state.checked,
    first_broken: state.first_broken,
  };
}

/** A whole segment at once: startChain, verifyEvents, chainVerdict. */
export function verifyChain(start: ChainStart, events: Iterable<HashedEvent>): ChainVerdict {
  return chainVerdict(verifyEvents(startChain(start), events));
}

/**
 * Partition first (another tenant's event is that, whatever else is wrong with it),
 * then order, then the hash, the one check that costs something. An event with no
 * canonical form (a lone surrogate or a missing field, as a tampered export file can
 * hold) has no hash its stored one could equal: that is a mismatch, not a crash.
 * `previous` is a chain hash (startChain checks the first; every later one equalled a
 * hash computed here), so linkHash need not check it again.
 */
function breakOf(
  partition: string,
  previous: string,
  lastPosition: number | null,
  event: HashedEvent,
): ChainBreakReason | null {
  if (event.tenant_id !== partition) return 'wrong_partition';
  if (lastPosition !== null && !(event.position > lastPosition)) return 'out_of_order';
  let expected: string;
  try {
    expected = linkHash(previous, canonicalEvent(event));
  } catch {
    return 'hash_mismatch';
  }
  return expected === event.hash ? null : 'hash_mismatch';
}
