import type { Kysely } from 'kysely';
import { digestSecret, newId, newSecret } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Database } from '../../storage/open-database.ts';
import { type CredentialChanges, IGNORE_CREDENTIAL_CHANGES } from '../guard/credential-cache.ts';
import { createMfaTokenStore } from '../mfa/mfa-token-store.ts';
import { endProviderSessionsOf } from '../oidc/oidc-adapter.ts';
import type { StandingOf } from '../tenancy-port.ts';
import { findSession, type SessionRecord, type SessionTables } from './find-session.ts';
import {
  createRefreshConsumer,
  type RefreshRotation,
  STRICT_ROTATION,
} from './refresh-rotation.ts';
import { combinedAmr, PASSWORD_PROOF, type SignInProof } from './sign-in-proof.ts';

// Moved to find-session.ts with the query that reads them; re-exported so callers keep importing them here.
export type { SessionRecord } from './find-session.ts';
export { type RefreshRotation, STRICT_ROTATION, successorKeyFrom } from './refresh-rotation.ts';

/** Where a login or refresh came from, shown in the user's session list. */
export interface SessionClient {
  readonly ip: string | null;
  readonly user_agent: string | null;
}

/**
 * Runs last in the transaction of a session change (its audit event), given the
 * session it concerns; the change commits only if it resolves.
 */
export type InSessionChange = (
  trx: AnyKysely,
  session: { readonly id: string; readonly tenant_id: string; readonly user_id: string },
) => Promise<void>;

/** What a refresh token's rotation did; the refresh flow answers each (token-refresh.ts). */
export type RefreshOutcome =
  | { readonly kind: 'rotated'; readonly session: SessionRecord; readonly refresh_token: string }
  /** Refused before the token was consumed: it stays usable once the tenant is active. */
  | { readonly kind: 'tenant_suspended'; readonly tenant_id: string }
  /** Presented again after its use: the session has been ended. */
  | { readonly kind: 'reused' }
  /** The session is revoked or expired. */
  | { readonly kind: 'ended' }
  /** Unknown or expired. */
  | { readonly kind: 'invalid' };

export interface SessionStore {
  /**
   * A new session and its first refresh token. `proof`: what the sign-in proved
   * (default: a password alone); the session records it with the time.
   */
  start(
    userId: string,
    tenantId: string,
    client?: SessionClient,
    inTransaction?: InSessionChange,
    proof?: SignInProof,
  ): Promise<StartedSession>;
  /**
   * Records a further proof in a live session (a reauthentication, a step-up, a factor
   * just confirmed): `reauth_ms` now, `second_factor_ms` now when it was a second
   * factor, the methods combined. Every node's credential cache hears of it. Returns
   * the session as it now is; undefined when it is no live session.
   */
  recordProof(
    sessionId: string,
    proof: SignInProof,
    inTransaction?: (trx: AnyKysely) => Promise<void>,
  ): Promise<SessionRecord | undefined>;
  /**
   * Consumes a refresh token and issues its successor. A token presented a second
   * time means it was stolen (or the client is broken): the whole session ends
   * (RFC 9700 §4.14.2, refresh token rotation with reuse detection). Except within
   * the grace period (`RefreshRotation`): two tabs refreshing with one token at
   * once both get the same successor, as long as nobody has used that successor yet.
   */
  rotate(
    refreshToken: string,
    client?: SessionClient,
    onReuse?: InSessionChange,
  ): Promise<RefreshOutcome>;
  find(sessionId: string): Promise<SessionRecord | undefined>;
  revoke(sessionId: string, reason: string, inTransaction?: InSessionChange): Promise<void>;
  /**
   * Every live session of the user except `keep` (a password change keeps the
   * caller's); `inTransaction` runs in the same transaction (the password change itself).
   */
  revokeAllOfUser(
    userId: string,
    reason: string,
    keep?: string,
    inTransaction?: (trx: AnyKysely) => Promise<void>,
  ): Promise<void>;
  /** Records use, at most once a minute per session and process: not a write per request. */
  touch(sessionId: string): Promise<void>;
  /**
   * Marks a live session as the one an OAuth grant's tokens act through (the OpenID
   * Provider, issue 19); false when it is no live session.
   */
  bindGrant(sessionId: string, grant: { grant_id: string; client_id: string }): Promise<boolean>;
  /** The session bound to an OAuth grant, whatever its state. */
  findByGrant(grantId: string): Promise<SessionRecord | undefined>;
  /** Ends the session bound to an OAuth grant (the grant was revoked); nothing if none is live. */
  revokeByGrant(grantId: string, reason: string, inTransaction?: InSessionChange): Promise<void>;
}

/** A session just started: its refresh token and what its access tokens will say. */
export interface StartedSession {
  readonly session_id: string;
  readonly refresh_token: string;
  readonly amr: readonly string[];
  readonly auth_time_ms: number;
}

export const REFRESH_PREFIX = 'tsr_';
const TOUCH_EVERY_MS = 60_000;
// Sessions are many more than API keys: the throttle forgets the oldest beyond this.
const TOUCH_MEMORY = 10_000;

export function createSessionStore(
  db: Database,
  /** Tenancy's answer to what a session is worth in its tenant (find-session.ts). */
  standingOf: StandingOf,
  ttlSeconds: number,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
  rotation: RefreshRotation = STRICT_ROTATION,
): SessionStore {
  const kysely: Kysely<SessionTables> = db.kysely;
  const touched = new Map<string, number>();

  /** Notes that `last_used_ms` was written now, so `touch` waits a minute from here. */
  function noteUse(sessionId: string, at: number): void {
    touched.delete(sessionId);
    if (touched.size >= TOUCH_MEMORY) touched.delete(touched.keys().next().value as string);
    touched.set(sessionId, at);
  }

  async function issueRefresh(
    trx: Kysely<SessionTables>,
    sessionId: string,
    expiresMs: number,
    token = newSecret(REFRESH_PREFIX),
  ): Promise<string> {
    await trx
      .insertInto('refresh_tokens')
      .values({
        token_hash: digestSecret(token),
        session_id: sessionId,
        created_ms: now(),
        expires_ms: expiresMs,
        used_ms: null,
      })
      .execute();
    return token;
  }

  function find(
    sessionId: string,
    on: Kysely<SessionTables> = kysely,
  ): Promise<SessionRecord | undefined> {
    return findSession(on, standingOf, sessionId);
  }

  async function revoke(
    sessionId: string,
    reason: string,
    inTransaction?: InSessionChange,
  ): Promise<void> {
    await db.transaction(async (trx: Kysely<SessionTables>) => {
      const ended = await trx
        .updateTable('sessions')
        .set({ revoked_ms: now(), revoked_reason: reason })
        .where('id', '=', sessionId)
        .where('revoked_ms', 'is', null)
        .returning(['id', 'tenant_id', 'user_id'])
        .executeTakeFirst();
      // Only a session this call ended is recorded: ending it twice changes nothing.
      if (ended) await inTransaction?.(trx, ended);
    });
    changes.changed({ kind: 'session', id: sessionId });
  }

  const consume = createRefreshConsumer({
    rotation,
    prefix: REFRESH_PREFIX,
    find: (id, trx) => find(id, trx as Kysely<SessionTables>),
    issue: (trx, sessionId, expiresMs, token) =>
      issueRefresh(trx as Kysely<SessionTables>, sessionId, expiresMs, token),
  });

  return {
    start(userId, tenantId, client, inTransaction, proof = PASSWORD_PROOF) {
      return db.transaction(async (trx: Kysely<SessionTables>) => {
        const id = newId();
        const at = now();
        const expires = at + ttlSeconds * 1000;
        const amr = combinedAmr([], proof);
        await trx
          .insertInto('sessions')
          .values({
            id,
            user_id: userId,
            tenant_id: tenantId,
            created_ms: now(),
            expires_ms: expires,
            revoked_ms: null,
            revoked_reason: null,
            last_used_ms: now(),
            ip: client?.ip ?? null,
            user_agent: client?.user_agent ?? null,
            amr: JSON.stringify(amr),
            auth_time_ms: proof.authTimeMs ?? at,
            reauth_ms: proof.authTimeMs ?? at,
            second_factor_ms: proof.secondFactor ? (proof.authTimeMs ?? at) : null,
            oauth_grant_id: null,
            oauth_client_id: null,
          })
          .execute();
        noteUse(id, now());
        const refresh_token = await issueRefresh(trx, id, expires);
        await inTransaction?.(trx, { id, tenant_id: tenantId, user_id: userId });
        return { session_id: id, refresh_token, amr, auth_time_ms: proof.authTimeMs ?? at };
      });
    },
    async recordProof(sessionId, proof, inTransaction) {
      const recorded = await db.transaction(async (trx: Kysely<SessionTables>) => {
        const at = now();
        const live = await find(sessionId, trx);
        if (!live || live.revoked_ms !== null || live.expires_ms <= at) return undefined;
        await trx
          .updateTable('sessions')
          .set({
            amr: JSON.stringify(combinedAmr(live.amr, proof)),
            reauth_ms: at,
            ...(proof.secondFactor ? { second_factor_ms: at } : {}),
          })
          .where('id', '=', sessionId)
          .where('revoked_ms', 'is', null)
          .execute();
        await inTransaction?.(trx);
        return find(sessionId, trx);
      });
      changes.changed({ kind: 'session', id: sessionId });
      return recorded;
    },
    async rotate(refreshToken, client, onReuse) {
      const hash = digestSecret(refreshToken);
      const at = now();
      // A suspended tenant's refresh is refused before the token is consumed, so the
      // client can still use it once the tenant is active again (not a "reuse").
      const owner = await kysely
        .selectFrom('refresh_tokens')
        .select('session_id')
        .where('token_hash', '=', hash)
        .executeTakeFirst();
      const owning = owner && (await find(owner.session_id));
      if (owning?.tenant_status === 'suspended') {
        return { kind: 'tenant_suspended', tenant_id: owning.tenant_id };
      }
      const outcome = await db.transaction((trx: Kysely<SessionTables>) =>
        consume(trx, refreshToken, at, client),
      );
      if (outcome.kind === 'issued') {
        noteUse(outcome.session.id, at);
        return { kind: 'rotated', session: outcome.session, refresh_token: outcome.token };
      }
      if (outcome.kind === 'reused') {
        await revoke(outcome.session_id, 'refresh_token_reused', onReuse);
        return { kind: 'reused' };
      }
      return outcome;
    },
    find,
    revoke,
    async revokeAllOfUser(userId, reason, keep, inTransaction) {
      await db.transaction(async (trx: Kysely<SessionTables>) => {
        let query = trx
          .updateTable('sessions')
          .set({ revoked_ms: now(), revoked_reason: reason })
          .where('user_id', '=', userId)
          .where('revoked_ms', 'is', null);
        if (keep !== undefined) query = query.where('id', '<>', keep);
        await query.execute();
        // A login waiting for its second factor proved what is now revoked (a password
        // changed or reset, an account erased): it ends with the sessions, and so do the
        // user's browser sessions at the OpenID Provider (its single sign-on).
        await createMfaTokenStore(trx, now).voidAllOf(userId);
        await endProviderSessionsOf(trx, userId);
        await inTransaction?.(trx);
      });
      changes.changed({ kind: 'user', id: userId });
    },
    async bindGrant(sessionId, grant) {
      const bound = await kysely
        .updateTable('sessions')
        .set({ oauth_grant_id: grant.grant_id, oauth_client_id: grant.client_id })
        .where('id', '=', sessionId)
        .where('revoked_ms', 'is', null)
        .where('expires_ms', '>', now())
        .where('oauth_grant_id', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return bound !== undefined;
    },
    async findByGrant(grantId) {
      const bound = await kysely
        .selectFrom('sessions')
        .select('id')
        .where('oauth_grant_id', '=', grantId)
        .executeTakeFirst();
      return bound && find(bound.id);
    },
    async revokeByGrant(grantId, reason, inTransaction) {
      const bound = await kysely
        .selectFrom('sessions')
        .select('id')
        .where('oauth_grant_id', '=', grantId)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      if (bound) await revoke(bound.id, reason, inTransaction);
    },
    async touch(sessionId) {
      const at = now();
      if (at - (touched.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
      noteUse(sessionId, at);
      // last_used_ms only: no credential trigger watches it, so no node's cache is emptied.
      await kysely
        .updateTable('sessions')
        .set({ last_used_ms: at })
        .where('id', '=', sessionId)
        .execute();
    },
  };
}
