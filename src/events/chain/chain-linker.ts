import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { GENESIS_HASH, isChainHash, linkHash } from './chain-hash.ts';
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
 * GENESIS_HASH. The same hash as `chainHash` (chain-hash.ts), through `linkHash`: each
 * head is checked once, and every later previous hash is one the linker computed.
 */
export function createChainLinker(heads: ReadonlyMap<string, ChainEnd>): ChainLinker {
  const tips = new Map<string, Tip>();
  return {
    link(event) {
      const tip = tips.get(event.tenant_id) ?? startTip(tips, event.tenant_id, heads);
      tip.hash = linkHash(tip.hash, canonicalEvent(event));
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
