import { hash as digestOf } from 'node:crypto';
import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { GENESIS_HASH, isChainHash } from './chain-hash.ts';
import type { LedgerHead } from './ledger-heads.ts';

/** What the linker needs of a partition's `ledger_heads` row: where its chain ends. */
export type ChainEnd = Pick<LedgerHead, 'position' | 'hash'>;

/** A partition's `ledger_heads` row after a commit; `chained` is the increment. */
export interface LedgerHeadChange {
  readonly partition: string;
  readonly position: number;
  readonly hash: string;
  readonly chained: number;
}

/**
 * Chains the new events of one commit, partition by partition, onto the heads the
 * append read in its transaction. Events must be given in position order (within each
 * partition; partitions may interleave), each as a reader will rebuild it from its row
 * (the chained form, docs/ledger.md).
 */
export interface ChainLinker {
  /** The chain hash of `event`, the next event of its partition (`tenant_id`). */
  link(event: StoredEvent): string;
  /** Every partition linked to in this commit, with its new head. */
  changes(): LedgerHeadChange[];
}

interface Tip {
  hash: string;
  position: number;
  chained: number;
}

/**
 * `heads` maps partitions to their stored heads; one without a head chains from
 * GENESIS_HASH. The same hash as `chainHash` (chain-hash.ts), computed as cheaply as
 * it honestly can be: the previous hash's 32 raw bytes and the canonical form's UTF-8
 * are written side by side into one reused buffer and hashed in one call
 * (`crypto.hash`), with no Hash object or Buffer allocated per event (measured about
 * half the cost of createHash().update().update().digest()).
 */
export function createChainLinker(heads: ReadonlyMap<string, ChainEnd>): ChainLinker {
  const tips = new Map<string, Tip>();
  return {
    link(event) {
      const tip = tips.get(event.tenant_id) ?? startTip(tips, event.tenant_id, heads);
      tip.hash = nextHash(tip.hash, canonicalEvent(event));
      tip.position = event.position;
      tip.chained += 1;
      return tip.hash;
    },
    changes: () =>
      [...tips].map(([partition, { position, hash, chained }]) => ({
        partition,
        position,
        hash,
        chained,
      })),
  };
}

function startTip(
  tips: Map<string, Tip>,
  partition: string,
  heads: ReadonlyMap<string, ChainEnd>,
): Tip {
  const head = heads.get(partition);
  const hash = head?.hash ?? GENESIS_HASH;
  // A head that is not a hash is a damaged row: refuse to chain onto it.
  if (!isChainHash(hash)) throw new TypeError(`ledger_heads of ${partition} holds no chain hash`);
  const tip = { hash, position: head?.position ?? 0, chained: 0 };
  tips.set(partition, tip);
  return tip;
}

/** Reused by every call: hashing is synchronous, so no two calls can share it at once. */
let scratch = Buffer.alloc(16 * 1024);
/** Larger events get a buffer of their own rather than growing the shared one for good. */
const MAX_SCRATCH = 1024 * 1024;

/** SHA-256(previous hash's raw bytes ‖ UTF-8 of `canonical`), in lowercase hex. */
function nextHash(previousHex: string, canonical: string): string {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 4 for 2).
  const needed = 32 + canonical.length * 3;
  let buffer = scratch;
  if (needed > buffer.length) {
    buffer = Buffer.allocUnsafe(needed);
    if (needed <= MAX_SCRATCH) scratch = buffer;
  }
  buffer.write(previousHex, 0, 32, 'hex');
  const length = 32 + buffer.write(canonical, 32, 'utf8');
  return digestOf('sha256', buffer.subarray(0, length), 'hex');
}
