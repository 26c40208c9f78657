import type { Actor } from '../../access/actor.ts';
import { auditPartition } from '../../audit/audit-entry.ts';
import { canonicalEvent } from '../../events/chain/canonical-event.ts';
import { GENESIS_HASH } from '../../events/chain/chain-hash.ts';
import type { ChainLog, ChainRow } from '../../events/chain/chain-log.ts';
import { EventErrors } from '../../events/errors.ts';
import type { StoredEvent } from '../../events/model.ts';
import type { PublicSigningJwk, SigningKeys } from '../../identity/tokens/signing-keys.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import type { LedgerLog } from '../checkpoints/checkpoint-service.ts';
import { createCheckpointStore } from '../checkpoints/checkpoint-store.ts';
import { LedgerErrors } from '../errors.ts';

/** One link of a proof: the event as chained, the exact string hashed, and its stored hash. */
export interface ProofLink {
  readonly event: StoredEvent;
  readonly canonical: string;
  readonly hash: string;
}

/**
 * What proves one event (docs/ledger.md, "Proving one event"): the hash its chain
 * held before it, the links from it to a signed checkpoint (the event first, the
 * checkpointed event last), that checkpoint and the public key of its `kid`.
 */
export interface EventProof {
  readonly log: LedgerLog;
  readonly partition: string;
  readonly event: StoredEvent;
  readonly hash: string;
  readonly previous_hash: string;
  readonly segment: ProofLink[];
  readonly checkpoint: LedgerCheckpointRow;
  readonly key: PublicSigningJwk;
}

export interface EventProofDeps {
  readonly kysely: AnyKysely;
  readonly chain: ChainLog;
  /** The event's position in that partition, or undefined (the event store's lookup by id). */
  readonly findEvent: (
    partition: string,
    eventId: string,
  ) => Promise<{ position: number } | undefined>;
  readonly keys: Pick<SigningKeys, 'findAnyPublicKey'>;
  /** The longest segment served: the event and every later one up to the checkpoint. */
  readonly maxEvents: number;
}

const LOGS: readonly LedgerLog[] = ['events', 'audit'];

/** Proofs of single events of the caller's tenant's log or audit trail, for auditors. */
export function createEventProofs(deps: EventProofDeps) {
  const checkpointStore = createCheckpointStore(deps.kysely);

  /**
   * The tenant's log, then its audit trail. One id names at most one event of the two:
   * audit entries carry generated ids, which encode a position (unique in the whole
   * log), and a client's id can never look like a generated one (event-id.ts).
   */
  async function locate(tenantId: string, eventId: string) {
    for (const log of LOGS) {
      const partition = log === 'audit' ? auditPartition(tenantId) : tenantId;
      const found = await deps.findEvent(partition, eventId);
      if (found) return { log, partition, position: found.position };
    }
    throw new TesseraError(EventErrors.event_not_found, `No event has id ${eventId}.`);
  }

  /** The event and the later events of its partition up to `to`, if at most maxEvents. */
  async function segmentTo(partition: string, position: number, to: number) {
    const rows = await deps.chain.readChain(partition, {
      after: position - 1,
      upTo: to,
      limit: deps.maxEvents + 1,
    });
    return rows.length <= deps.maxEvents && rows.at(-1)?.position === to ? rows : undefined;
  }

  /**
   * The first checkpoint at or after the event, if its segment is within the bound.
   * A proof only reads: when no checkpoint covers the event yet, the caller is told
   * how to get one (signing is a write, audited, and has its own route).
   */
  async function coveringCheckpoint(partition: string, position: number) {
    const stored = await checkpointStore.firstAtOrAfter(partition, position);
    if (stored) {
      const rows = await segmentTo(partition, position, stored.position);
      if (rows) return { checkpoint: stored, rows };
    } else if ((await deps.chain.countAfter(partition, position)) < deps.maxEvents) {
      // Events after it, not counting it: a checkpoint of the head would be within the bound.
      throw new TesseraError(
        LedgerErrors.ledger_checkpoint_pending,
        'No signed checkpoint covers this event yet. POST /api/v1/ledger/checkpoints signs one now (or the next is due within ledger.checkpoint_interval_seconds); then ask again.',
      );
    }
    throw new TesseraError(
      LedgerErrors.ledger_proof_too_long,
      `More than ${deps.maxEvents} events lie between this event and the first checkpoint covering it, or its chain's head; verify it offline (tessera ledger verify).`,
    );
  }

  return {
    async prove(actor: Actor, eventId: string): Promise<EventProof> {
      const { log, partition, position } = await locate(actor.principal.tenantId, eventId);
      const link = await deps.chain.linkBefore(partition, position);
      const [own] = await deps.chain.readChain(partition, { after: position - 1, limit: 1 });
      if (!own || own.position !== position || own.hash === null || link?.hash === null) {
        throw new TesseraError(
          LedgerErrors.ledger_event_unchained,
          'The event, or the one before it in its chain, has no hash yet (the backfill chains it at start).',
        );
      }
      const { checkpoint, rows } = await coveringCheckpoint(partition, position);
      const segment = rows.map(toLink);
      const key = await deps.keys.findAnyPublicKey(checkpoint.kid);
      if (!key) throw new Error(`checkpoint key ${checkpoint.kid} is missing`);
      return {
        log,
        partition,
        event: toLink(own).event,
        hash: own.hash,
        previous_hash: link?.hash ?? GENESIS_HASH,
        segment,
        checkpoint,
        key,
      };
    },
  };
}

export type EventProofs = ReturnType<typeof createEventProofs>;

/**
 * A stored hash is shown as it is, even when it is NULL or wrong: a proof reports the
 * chain as stored, and the auditor's check is what finds a break.
 */
function toLink(row: ChainRow): ProofLink {
  const { hash, ...event } = row;
  return { event, canonical: canonicalEvent(event), hash: hash ?? '' };
}
