import type { webcrypto } from 'node:crypto';
import canonicalize from 'canonicalize';
import { CompactSign } from 'jose';
import type { LedgerHead } from '../../events/chain/ledger-heads.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';

/**
 * The JWS `typ` of a checkpoint (RFC 7515 §4.1.9, explicit typing as RFC 8725 §3.11
 * asks): no other JWS Tessera signs (an access token is `at+jwt`) can pass for one.
 */
export const CHECKPOINT_TYPE = 'tessera-ledger-checkpoint';

/** A checkpoint as stored (`ledger_checkpoints`) and served. */
export type StoredCheckpoint = LedgerCheckpointRow;

/** What a checkpoint's JWS signs: a partition's chain reached `hash` at `position`. */
export interface CheckpointPayload {
  /** The partition (an `events.tenant_id` value: `acme` or `$audit:acme`). */
  readonly tenant_id: string;
  readonly position: number;
  readonly hash: string;
  /** When it was signed: RFC 3339, milliseconds, UTC. */
  readonly timestamp: string;
}

export function checkpointPayload(
  row: Pick<LedgerCheckpointRow, 'partition' | 'position' | 'hash' | 'time_ms'>,
): CheckpointPayload {
  return {
    tenant_id: row.partition,
    position: row.position,
    hash: row.hash,
    timestamp: new Date(row.time_ms).toISOString(),
  };
}

/**
 * A checkpoint of `head`, signed at `timeMs` with the server's signing key: a compact
 * JWS (RFC 7515 §7.1), EdDSA over Ed25519 (RFC 8037), whose payload is the RFC 8785
 * canonical JSON of `checkpointPayload`, so the signed bytes are one spelling only.
 */
export async function signCheckpoint(
  head: LedgerHead,
  timeMs: number,
  key: { readonly kid: string; readonly privateKey: webcrypto.CryptoKey },
): Promise<LedgerCheckpointRow> {
  const fields = {
    partition: head.partition,
    position: head.position,
    hash: head.hash,
    chained: head.chained,
    time_ms: timeMs,
  };
  const payload = canonicalize(checkpointPayload(fields));
  if (payload === undefined) throw new Error('a checkpoint payload did not canonicalize');
  const jws = await new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CHECKPOINT_TYPE })
    .sign(key.privateKey);
  return { ...fields, kid: key.kid, jws };
}
