import { createHmac, hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import { digestSecret } from '../../platform/secrets.ts';
import type { Tables } from '../../storage/tables.ts';
import type { SessionClient, SessionRecord } from './session-store.ts';

/**
 * How refresh tokens rotate. A successor is derived from its predecessor with a key
 * of the server's (HMAC-SHA-256, RFC 2104), so the same token presented again
 * within `graceSeconds` of its use can be answered with the same successor without
 * storing any token: only their digests are stored, as ever. Without the key nobody
 * can compute a successor, not even from a stolen predecessor and the database.
 */
export interface RefreshRotation {
  /** 0: every second use of a token is a reuse, as in RFC 9700 strictly. */
  readonly graceSeconds: number;
  /**
   * 32 bytes, see `successorKeyFrom`, or how to derive it when first needed; required
   * when `graceSeconds` > 0.
   */
  readonly successorKey?: Buffer | (() => Buffer) | undefined;
}

export const STRICT_ROTATION: RefreshRotation = { graceSeconds: 0 };

/** A key for successors only, derived from the master key (HKDF, RFC 5869). */
export function successorKeyFrom(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, '', 'tessera refresh token successor', 32));
}

export type RotateOutcome =
  | { readonly kind: 'issued'; readonly session: SessionRecord; readonly token: string }
  | { readonly kind: 'reused'; readonly session_id: string }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'ended' };

type RefreshTables = Pick<Tables, 'refresh_tokens' | 'sessions'>;

export interface RefreshConsumerDeps {
  readonly rotation: RefreshRotation;
  /** Of refresh tokens, e.g. `tsr_`. */
  readonly prefix: string;
  find(sessionId: string, trx: Kysely<RefreshTables>): Promise<SessionRecord | undefined>;
  /** Stores a refresh token of the session (`token`, or a new random one); returns it. */
  issue(
    trx: Kysely<RefreshTables>,
    sessionId: string,
    expiresMs: number,
    token: string | undefined,
  ): Promise<string>;
}

/** The heart of `SessionStore.rotate`, run in one transaction by the store. */
export function createRefreshConsumer(deps: RefreshConsumerDeps) {
  const { rotation, prefix } = deps;
  const { successorKey } = rotation;
  if (rotation.graceSeconds > 0 && successorKey === undefined) {
    throw new Error('a refresh token grace period needs a successor key');
  }
  const graceMs = rotation.graceSeconds * 1000;
  const successorOf = (token: string): string | undefined =>
    successorKey &&
    `${prefix}${createHmac(
      'sha256',
      typeof successorKey === 'function' ? successorKey() : successorKey,
    )
      .update(token)
      .digest('base64url')}`;

  /**
   * One transaction: one atomic statement consumes the token, so of concurrent
   * refreshes with the same token exactly one gets the row back and issues the
   * successor in the same commit. The others (PostgreSQL waits on the row lock,
   * SQLite has one writer) then see the token used and its successor stored.
   */
  async function consume(
    trx: Kysely<RefreshTables>,
    token: string,
    at: number,
    client: SessionClient | undefined,
  ): Promise<RotateOutcome> {
    const hash = digestSecret(token);
    const consumed = await trx
      .updateTable('refresh_tokens')
      .set({ used_ms: at })
      .where('token_hash', '=', hash)
      .where('used_ms', 'is', null)
      .where('expires_ms', '>', at)
      .returning(['session_id', 'expires_ms'])
      .executeTakeFirst();
    if (!consumed) return alreadyUsed(trx, token, hash, at);
    const session = await deps.find(consumed.session_id, trx);
    if (!session || session.revoked_ms !== null || session.expires_ms <= at)
      return { kind: 'ended' };
    // Columns no credential trigger watches (migration 0005): nothing is announced.
    await trx
      .updateTable('sessions')
      .set({
        last_used_ms: at,
        ...(client && { ip: client.ip, user_agent: client.user_agent }),
      })
      .where('id', '=', session.id)
      .execute();
    const issued = await deps.issue(trx, session.id, session.expires_ms, successorOf(token));
    return { kind: 'issued', session, token: issued };
  }

  /**
   * A token that was not consumed now: unknown or expired, or used before. Used within
   * the grace period, and its successor not used yet, the caller gets that successor
   * again (a second tab, a retried request). Used earlier, or its successor already
   * used in turn (a token two generations back): a reuse, and the session ends.
   */
  async function alreadyUsed(
    trx: Kysely<RefreshTables>,
    token: string,
    hash: string,
    at: number,
  ): Promise<RotateOutcome> {
    const known = await trx
      .selectFrom('refresh_tokens')
      .select(['session_id', 'used_ms'])
      .where('token_hash', '=', hash)
      .executeTakeFirst();
    if (known?.used_ms == null) return { kind: 'invalid' };
    const successor = successorOf(token);
    // Either way round: another node's clock may be a little ahead of this one's.
    const usedAgo = Math.abs(at - Number(known.used_ms));
    if (successor !== undefined && graceMs > 0 && usedAgo <= graceMs) {
      const next = await trx
        .selectFrom('refresh_tokens')
        .select(['used_ms', 'expires_ms'])
        .where('token_hash', '=', digestSecret(successor))
        .where('session_id', '=', known.session_id)
        .executeTakeFirst();
      if (next && next.used_ms === null && Number(next.expires_ms) > at) {
        const session = await deps.find(known.session_id, trx);
        if (!session || session.revoked_ms !== null || session.expires_ms <= at) {
          return { kind: 'ended' };
        }
        return { kind: 'issued', session, token: successor };
      }
    }
    return { kind: 'reused', session_id: known.session_id };
  }

  return consume;
}
