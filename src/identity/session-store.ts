import type { Kysely } from 'kysely';
import { type CredentialChanges, IGNORE_CREDENTIAL_CHANGES } from '../access/credential-cache.ts';
import { AccessErrors } from '../access/errors.ts';
import { TesseraError } from '../platform/errors.ts';
import type { Database } from '../storage/open-database.ts';
import { IdentityErrors } from './errors.ts';
import { digestSecret, newId, newSecret } from './secrets.ts';

interface SessionTables {
  sessions: {
    id: string;
    user_id: string;
    tenant_id: string;
    created_ms: number;
    expires_ms: number;
    revoked_ms: number | null;
    revoked_reason: string | null;
  };
  refresh_tokens: {
    token_hash: string;
    session_id: string;
    created_ms: number;
    expires_ms: number;
    used_ms: number | null;
  };
  tenants: { id: string; status: string; deleted_ms: number | null };
  memberships: { tenant_id: string; user_id: string; roles: string };
}

export interface SessionRecord {
  readonly id: string;
  readonly user_id: string;
  readonly tenant_id: string;
  readonly expires_ms: number;
  readonly revoked_ms: number | null;
  /** Of the session's tenant: `active`, `suspended`, or `deleted`. */
  readonly tenant_status: string;
  /** The user's roles in that tenant now (a revoked membership: none). */
  readonly roles: readonly string[];
}

export interface SessionStore {
  /** A new session and its first refresh token. */
  start(userId: string, tenantId: string): Promise<{ session_id: string; refresh_token: string }>;
  /**
   * Consumes a refresh token and issues its successor. A token presented a second
   * time means it was stolen (or the client is broken): the whole session ends
   * (RFC 9700 §4.14.2, refresh token rotation with reuse detection).
   */
  rotate(refreshToken: string): Promise<{ session: SessionRecord; refresh_token: string }>;
  find(sessionId: string): Promise<SessionRecord | undefined>;
  revoke(sessionId: string, reason: string): Promise<void>;
  /** Every live session of the user except `keep` (a password change keeps the caller's). */
  revokeAllOfUser(userId: string, reason: string, keep?: string): Promise<void>;
}

const REFRESH_PREFIX = 'tsr_';

export function createSessionStore(
  db: Database,
  ttlSeconds: number,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
): SessionStore {
  const kysely: Kysely<SessionTables> = db.kysely;

  async function issueRefresh(
    trx: Kysely<SessionTables>,
    sessionId: string,
    expiresMs: number,
  ): Promise<string> {
    const token = newSecret(REFRESH_PREFIX);
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

  async function find(sessionId: string): Promise<SessionRecord | undefined> {
    const row = await kysely
      .selectFrom('sessions')
      .innerJoin('tenants', 'tenants.id', 'sessions.tenant_id')
      // Roles are read with the session on every request, so taking a role away
      // takes effect at once, not when the user's access token expires.
      .leftJoin('memberships', (join) =>
        join
          .onRef('memberships.tenant_id', '=', 'sessions.tenant_id')
          .onRef('memberships.user_id', '=', 'sessions.user_id'),
      )
      .select([
        'sessions.id',
        'sessions.user_id',
        'sessions.tenant_id',
        'expires_ms',
        'revoked_ms',
        'tenants.status',
        'tenants.deleted_ms',
        'memberships.roles',
      ])
      .where('sessions.id', '=', sessionId)
      .executeTakeFirst();
    if (!row) return undefined;
    const { status, deleted_ms, roles, ...session } = row;
    return {
      ...session,
      tenant_status: deleted_ms === null ? status : 'deleted',
      roles: roles === null ? [] : (JSON.parse(roles) as string[]),
    };
  }

  async function revoke(sessionId: string, reason: string): Promise<void> {
    await kysely
      .updateTable('sessions')
      .set({ revoked_ms: now(), revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_ms', 'is', null)
      .execute();
    changes.changed({ kind: 'session', id: sessionId });
  }

  return {
    start(userId, tenantId) {
      return db.transaction(async (trx: Kysely<SessionTables>) => {
        const id = newId();
        const expires = now() + ttlSeconds * 1000;
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
          })
          .execute();
        return { session_id: id, refresh_token: await issueRefresh(trx, id, expires) };
      });
    },
    async rotate(refreshToken) {
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
        throw new TesseraError(
          AccessErrors.tenant_suspended,
          `Tenant ${owning.tenant_id} is suspended.`,
        );
      }
      // One atomic statement consumes the token: of two concurrent refreshes with the
      // same token exactly one gets the row back.
      const consumed = await kysely
        .updateTable('refresh_tokens')
        .set({ used_ms: at })
        .where('token_hash', '=', hash)
        .where('used_ms', 'is', null)
        .where('expires_ms', '>', at)
        .returning(['session_id', 'expires_ms'])
        .executeTakeFirst();
      if (!consumed) {
        const known = await kysely
          .selectFrom('refresh_tokens')
          .select(['session_id', 'used_ms'])
          .where('token_hash', '=', hash)
          .executeTakeFirst();
        if (known?.used_ms != null) {
          await revoke(known.session_id, 'refresh_token_reused');
          throw new TesseraError(
            IdentityErrors.refresh_token_reused,
            'This refresh token was already used; the session has been ended.',
          );
        }
        throw new TesseraError(
          IdentityErrors.refresh_token_invalid,
          'The refresh token is unknown or expired.',
        );
      }
      const session = await find(consumed.session_id);
      if (!session || session.revoked_ms !== null || session.expires_ms <= at) {
        throw new TesseraError(
          IdentityErrors.session_revoked,
          'The session has ended; log in again.',
        );
      }
      const token = await db.transaction((trx: Kysely<SessionTables>) =>
        issueRefresh(trx, session.id, session.expires_ms),
      );
      return { session, refresh_token: token };
    },
    find,
    revoke,
    async revokeAllOfUser(userId, reason, keep) {
      let query = kysely
        .updateTable('sessions')
        .set({ revoked_ms: now(), revoked_reason: reason })
        .where('user_id', '=', userId)
        .where('revoked_ms', 'is', null);
      if (keep !== undefined) query = query.where('id', '<>', keep);
      await query.execute();
      changes.changed({ kind: 'user', id: userId });
    },
  };
}
