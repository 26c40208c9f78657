import type { Actor } from '../../access/actor.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { auditPartition } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { readLedgerHeads, storedEventHash } from '../../events/chain/ledger-heads.ts';
import type { PublicSigningJwk, SigningKeys } from '../../identity/tokens/signing-keys.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { hasMoved, type SignedCheckpoint, signHeads } from './checkpoint-signer.ts';
import { createCheckpointStore } from './checkpoint-store.ts';
import {
  type CheckpointVerdict,
  checkpointKeyring,
  verifyCheckpoint,
} from './verify-checkpoint.ts';

/** A tenant's two chains: its own event log and its audit trail. */
export type LedgerLog = 'events' | 'audit';

export interface TenantCheckpoint {
  readonly log: LedgerLog;
  readonly checkpoint: LedgerCheckpointRow;
  /**
   * True when this call signed it; false: the latest one (the head has not moved
   * since), or another node's checkpoint of the same head.
   */
  readonly created: boolean;
}

export interface CheckpointServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly keys: Pick<SigningKeys, 'signingKey' | 'allPublicKeys' | 'findAnyPublicKey'>;
  readonly audit: AuditLog;
  readonly now?: () => number;
}

export function partitionOf(tenantId: string, log: LedgerLog): string {
  return log === 'audit' ? auditPartition(tenantId) : tenantId;
}

/** Signed checkpoints on request, their listing, and the keys that verify them. */
export function createCheckpointService(deps: CheckpointServiceDeps) {
  const { db, keys, audit } = deps;
  const now = deps.now ?? Date.now;
  const keyring = checkpointKeyring((kid) => keys.findAnyPublicKey(kid));

  /** The heads of `partitions` that moved past their last checkpoint, and those checkpoints. */
  async function movedHeads(on: AnyKysely, partitions: readonly string[]) {
    const latest = await createCheckpointStore(on).latestOf(partitions);
    const last = new Map(latest.map((row) => [row.partition, row]));
    const heads = await readLedgerHeads(on, partitions);
    return { moved: heads.filter((head) => hasMoved(head, last.get(head.partition))), last };
  }

  return {
    /**
     * Checkpoints the caller's tenant's log and audit trail now, each only if its
     * chain moved since its last checkpoint; returns each log's new or latest
     * checkpoint (a log with no chained event has none). The audit entry is
     * appended first, in the same transaction, so the audit trail's checkpoint
     * covers the entry recording it, and asking again with nothing new signs
     * nothing and records nothing.
     */
    async checkpointNow(actor: Actor): Promise<TenantCheckpoint[]> {
      const tenantId = actor.principal.tenantId;
      const logs: LedgerLog[] = ['events', 'audit'];
      const partitions = logs.map((log) => partitionOf(tenantId, log));
      const before = await movedHeads(db.kysely, partitions);
      const signed = new Map<string, SignedCheckpoint>();
      let last = before.last;
      if (before.moved.length > 0) {
        // Loaded (maybe created) before the transaction: its first use reads and decrypts.
        const key = await keys.signingKey();
        last = await db.transaction(async (trx) => {
          const movedLogs = logs.filter((log) =>
            before.moved.some((head) => head.partition === partitionOf(tenantId, log)),
          );
          await audit.inTransaction(trx, actor.audit, [signedEntry(tenantId, movedLogs)]);
          const current = await movedHeads(trx, partitions);
          for (const done of await signHeads(trx, current.moved, key, now())) {
            signed.set(done.checkpoint.partition, done);
          }
          return current.last;
        });
      }
      return logs.flatMap((log): TenantCheckpoint[] => {
        const partition = partitionOf(tenantId, log);
        const made = signed.get(partition);
        if (made) return [{ log, ...made }];
        const latest = last.get(partition);
        return latest ? [{ log, checkpoint: latest, created: false }] : [];
      });
    },

    /** The caller's tenant's checkpoints of one log, in position order. */
    list(
      actor: Actor,
      page: { log: LedgerLog; after?: number | undefined; limit: number },
    ): Promise<LedgerCheckpointRow[]> {
      return createCheckpointStore(db.kysely).list(
        partitionOf(actor.principal.tenantId, page.log),
        page,
      );
    },

    /** Every key that may have signed a checkpoint, retired ones included. */
    publicKeys(): Promise<PublicSigningJwk[]> {
      return keys.allPublicKeys();
    },

    /** `verifyCheckpoint` against the server's keys and the stored `events.hash` at its position. */
    async verify(row: LedgerCheckpointRow): Promise<CheckpointVerdict> {
      const stored = await storedEventHash(db.kysely, row.partition, row.position);
      return verifyCheckpoint(row, keyring, stored);
    },
  };
}

export type CheckpointService = ReturnType<typeof createCheckpointService>;

function signedEntry(tenantId: string, logs: readonly LedgerLog[]): AuditEntry {
  return {
    tenant_id: tenantId,
    action: 'ledger.checkpoint_signed',
    target: `ledger:${tenantId}`,
    outcome: 'success',
    details: { logs },
  };
}
