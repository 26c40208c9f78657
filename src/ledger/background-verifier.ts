import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChainLog } from '../events/chain/chain-log.ts';
import { pageLedgerHeads, storedEventHash } from '../events/chain/ledger-heads.ts';
import type { SigningKeys } from '../identity/tokens/signing-keys.ts';
import { everyInterval, type PeriodicLog } from '../platform/every-interval.ts';
import type { AnyKysely } from '../storage/database.ts';
import { createCheckpointStore } from './checkpoints/checkpoint-store.ts';
import {
  type CheckpointBreak,
  checkpointKeyring,
  verifyCheckpoint,
} from './checkpoints/verify-checkpoint.ts';
import type { LedgerBreakReason } from './ledger-break.ts';
import { verifyPartition } from './verify-partition.ts';

/** Partitions looked at per run, at most (a pass over many takes several runs). */
export const PARTITIONS_PER_RUN = 500;
/** Events verified per run, over all its partitions: a run's work stays bounded. */
export const EVENTS_PER_RUN = 50_000;

export interface BackgroundBreak {
  readonly partition: string;
  readonly position: number;
  readonly reason: LedgerBreakReason | CheckpointBreak;
}

export interface BackgroundVerifierDeps {
  readonly kysely: AnyKysely;
  readonly chain: ChainLog;
  readonly keys: Pick<SigningKeys, 'findAnyPublicKey'>;
  readonly metrics: Registry;
  readonly log: Pick<PeriodicLog, 'error'>;
  readonly partitionsPerRun?: number;
  readonly eventsPerRun?: number;
}

/**
 * `tessera_ledger_broken_partitions` (partitions this node found broken at their
 * last check), `tessera_ledger_verify_runs_total` and
 * `tessera_ledger_verify_breaks_total{reason}`.
 */
function verifierMetrics(registry: Registry, broken: () => number) {
  new Gauge({
    name: 'tessera_ledger_broken_partitions',
    help: 'Partitions of the ledger whose newest segment or latest checkpoint this node found broken at their last background check.',
    registers: [registry],
    collect() {
      this.set(broken());
    },
  });
  const runs = new Counter({
    name: 'tessera_ledger_verify_runs_total',
    help: 'Background ledger verification runs on this node.',
    registers: [registry],
  });
  const breaks = new Counter({
    name: 'tessera_ledger_verify_breaks_total',
    help: 'Breaks the background ledger verification found, by reason (a partition still broken counts again on each check).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return { runs, breaks };
}

/**
 * Re-checks the newest segment of every partition (issue 22 item 3): from its latest
 * checkpoint, whose signature and hash are checked first, to its head, with the
 * verifiers' own `verifyPartition`. Partitions are taken in pages, round-robin, and a
 * run stops after about `eventsPerRun` events; the next run continues from there.
 */
export function createBackgroundVerifier(deps: BackgroundVerifierDeps) {
  const perRun = deps.partitionsPerRun ?? PARTITIONS_PER_RUN;
  const eventsPerRun = deps.eventsPerRun ?? EVENTS_PER_RUN;
  const keyring = checkpointKeyring((kid) => deps.keys.findAnyPublicKey(kid));
  const checkpoints = createCheckpointStore(deps.kysely);
  const brokenNow = new Map<string, BackgroundBreak>();
  const metrics = verifierMetrics(deps.metrics, () => brokenNow.size);
  let after: string | undefined;

  async function checkPartition(partition: string, budget: number) {
    const [latest] = await checkpoints.latestOf([partition]);
    if (latest) {
      const stored = await storedEventHash(deps.kysely, partition, latest.position);
      // A checkpointed event that is gone is a break as much as one that changed.
      const verdict = await verifyCheckpoint(latest, keyring, stored === undefined ? null : stored);
      if (!verdict.ok) {
        return {
          checked: 0,
          broken: { partition, position: latest.position, reason: verdict.reason },
        };
      }
    }
    const verdict = await verifyPartition(deps.chain, partition, {
      after: latest?.position ?? 0,
      budget,
    });
    const broken = verdict.first_broken && { partition, ...verdict.first_broken };
    return { checked: verdict.checked, broken };
  }

  return {
    /** One bounded run; returns the breaks it found (each also logged and counted). */
    async run(): Promise<BackgroundBreak[]> {
      metrics.runs.inc();
      const heads = await pageLedgerHeads(deps.kysely, after, perRun);
      after = heads.length < perRun ? undefined : heads.at(-1)?.partition;
      const found: BackgroundBreak[] = [];
      let checked = 0;
      for (const head of heads) {
        if (checked >= eventsPerRun) {
          after = previousOf(heads, head);
          break;
        }
        const result = await checkPartition(head.partition, eventsPerRun - checked);
        checked += result.checked;
        if (!result.broken) {
          brokenNow.delete(head.partition);
          continue;
        }
        brokenNow.set(head.partition, result.broken);
        metrics.breaks.inc({ reason: result.broken.reason });
        deps.log.error(result.broken, 'ledger chain broken');
        found.push(result.broken);
      }
      return found;
    },
  };
}

export type BackgroundVerifier = ReturnType<typeof createBackgroundVerifier>;

/** The partition before `head` in the page: the next run starts after it, at `head`. */
function previousOf(heads: readonly { partition: string }[], head: { partition: string }) {
  return heads[heads.indexOf(head) - 1]?.partition;
}

/** Runs the verifier every `intervalSeconds` on this node (none when 0); returns the stop function. */
export function startBackgroundVerifier(
  verifier: BackgroundVerifier,
  intervalSeconds: number,
  log: Pick<PeriodicLog, 'error'>,
): () => Promise<void> {
  if (intervalSeconds === 0) return async () => {};
  const run = async () => {
    await verifier.run();
  };
  return everyInterval(run, intervalSeconds * 1000, log, 'ledger background verification failed');
}
