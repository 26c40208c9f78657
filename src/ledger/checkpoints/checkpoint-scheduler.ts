import { pageLedgerHeads } from '../../events/chain/ledger-heads.ts';
import type { SigningKeys } from '../../identity/tokens/signing-keys.ts';
import { everyInterval, type PeriodicLog } from '../../platform/every-interval.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { type CheckpointRule, isDue, signHeads } from './checkpoint-signer.ts';
import { createCheckpointStore } from './checkpoint-store.ts';

/** Heads looked at (and at most signed) per tick: a tick's work is bounded, the rest waits. */
export const PARTITIONS_PER_TICK = 500;
/** The longest pause between ticks: how soon a partition reaching `rule.events` is seen. */
export const MAX_TICK_MS = 5_000;

export interface CheckpointSchedulerDeps {
  readonly db: Pick<DatabaseBase, 'kysely'>;
  readonly keys: Pick<SigningKeys, 'signingKey'>;
  readonly rule: CheckpointRule;
  readonly now?: () => number;
  readonly partitionsPerTick?: number;
}

/**
 * The background checkpoints (`ledger.checkpoint_interval_*`): each tick reads the
 * next page of partition heads (a pass over every partition, page by page, then
 * again from the start) and signs those due. Every node runs it: two nodes signing
 * one head leave one row (the table's key), and signing a head another node just
 * signed is harmless.
 */
export function createCheckpointScheduler(deps: CheckpointSchedulerDeps) {
  const now = deps.now ?? Date.now;
  const perTick = deps.partitionsPerTick ?? PARTITIONS_PER_TICK;
  let after: string | undefined;
  return {
    /** One bounded pass: returns the checkpoints this node wrote. */
    async tick(): Promise<LedgerCheckpointRow[]> {
      const heads = await pageLedgerHeads(deps.db.kysely, after, perTick);
      after = heads.length < perTick ? undefined : heads.at(-1)?.partition;
      const latest = await createCheckpointStore(deps.db.kysely).latestOf(
        heads.map((head) => head.partition),
      );
      const last = new Map(latest.map((row) => [row.partition, row]));
      const at = now();
      const due = heads.filter((head) => isDue(head, last.get(head.partition), deps.rule, at));
      if (due.length === 0) return [];
      const key = await deps.keys.signingKey();
      const signed = await signHeads(deps.db.kysely, due, key, at);
      return signed.filter((done) => done.created).map((done) => done.checkpoint);
    },
  };
}

export type CheckpointScheduler = ReturnType<typeof createCheckpointScheduler>;

/** Ticks every `intervalMs` on this node (everyInterval); returns the stop function. */
export function startCheckpointing(
  scheduler: CheckpointScheduler,
  intervalMs: number,
  log: Pick<PeriodicLog, 'error' | 'debug'>,
): () => Promise<void> {
  const run = async () => {
    const made = await scheduler.tick();
    if (made.length > 0) log.debug({ checkpoints: made.length }, 'ledger checkpoints signed');
  };
  return everyInterval(run, intervalMs, log, 'ledger checkpoints failed');
}
