import type { LedgerHead } from '../../events/chain/ledger-heads.ts';
import type { ActiveSigningKey } from '../../identity/tokens/signing-keys.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { signCheckpoint } from './checkpoint-jws.ts';
import { createCheckpointStore } from './checkpoint-store.ts';

export interface SignedCheckpoint {
  readonly checkpoint: LedgerCheckpointRow;
  /** False when another node (or request) checkpointed that head first: its row is returned. */
  readonly created: boolean;
}

/**
 * Signs and stores a checkpoint of each head, on `on` (a transaction or the database).
 * A head someone else checkpointed meanwhile keeps their row: one per (partition,
 * position), whoever wins.
 */
export async function signHeads(
  on: AnyKysely,
  heads: readonly LedgerHead[],
  key: ActiveSigningKey,
  timeMs: number,
): Promise<SignedCheckpoint[]> {
  const store = createCheckpointStore(on);
  const signed: SignedCheckpoint[] = [];
  for (const head of heads) {
    const row = await signCheckpoint(head, timeMs, key);
    const created = await store.insert(row);
    const checkpoint = created ? row : ((await store.get(head.partition, head.position)) ?? row);
    signed.push({ checkpoint, created });
  }
  return signed;
}

/** When a partition is due a checkpoint (`ledger.checkpoint_interval_*`). */
export interface CheckpointRule {
  readonly events: number;
  readonly seconds: number;
}

/**
 * Due when its head moved past its last checkpoint and either `rule.events` events
 * were chained since, or `rule.seconds` passed since it. A partition never
 * checkpointed is due as soon as it has a head: its first checkpoint anchors it.
 */
export function isDue(
  head: LedgerHead,
  last: Pick<LedgerCheckpointRow, 'position' | 'chained' | 'time_ms'> | undefined,
  rule: CheckpointRule,
  atMs: number,
): boolean {
  if (!last) return true;
  if (!hasMoved(head, last)) return false;
  return head.chained - last.chained >= rule.events || atMs - last.time_ms >= rule.seconds * 1000;
}

/** Whether the head moved past the last checkpoint at all (an on-demand checkpoint's rule). */
export function hasMoved(
  head: LedgerHead,
  last: Pick<LedgerCheckpointRow, 'position'> | undefined,
): boolean {
  return !last || head.position > last.position;
}
