import type { Actor } from '../../access/actor.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { IdentityErrors } from '../errors.ts';
import type { CredentialChanges } from '../guard/credential-cache.ts';
import type { StoredRolesOf } from '../tenancy-port.ts';
import {
  createSessionAdminStore,
  type SessionSelection,
  type SessionView,
} from './session-admin-store.ts';

/** What the routes list, named here so they never reach the store. */
export type { SessionView } from './session-admin-store.ts';

export interface SessionPage {
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Sessions listed and revoked by their user, or by an administrator of the tenant. */
export interface SessionService {
  listOwn(actor: Actor, page: SessionPage): Promise<SessionView[]>;
  /** Throws 404 `session_not_found` unless it is a live session of the caller in this tenant. */
  revokeOwn(actor: Actor, sessionId: string): Promise<void>;
  /** Every other live session of the caller in this tenant; returns the ids revoked. */
  revokeOwnOthers(actor: Actor): Promise<string[]>;
  /** Throws 404 `user_not_found` unless the user is a member of the caller's tenant. */
  listOfUser(actor: Actor, userId: string, page: SessionPage): Promise<SessionView[]>;
  revokeAllOfUser(actor: Actor, userId: string): Promise<string[]>;
}

export interface SessionServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction'> & { readonly kysely: AnyKysely };
  readonly audit: AuditLog;
  readonly changes: CredentialChanges;
  readonly roles: RolePolicy;
  /** Tenancy's: whether (and with which roles) the user is a member, read in the caller's transaction. */
  readonly storedRolesOf: StoredRolesOf;
}

/** The caller's own session: API keys have none, so the own-session routes are not theirs. */
function ownSession(actor: Actor): { tenantId: string; userId: string; sessionId: string } {
  const { principal } = actor;
  if (principal.userId === null || principal.sessionId === null) {
    throw new TesseraError(
      HttpErrors.bad_request,
      "An API key has no sessions; use a user's access token.",
    );
  }
  return { tenantId: principal.tenantId, userId: principal.userId, sessionId: principal.sessionId };
}

function notAMember(userId: string): TesseraError {
  // The same answer whether the user exists elsewhere or not: other tenants stay invisible.
  return new TesseraError(
    IdentityErrors.user_not_found,
    `no user of this tenant has the id ${userId}`,
  );
}

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { db, audit, changes } = deps;

  /** Revokes and audits in one transaction; the cache hears of it after the commit. */
  async function revokeAudited(
    actor: Actor,
    tenantId: string,
    userId: string,
    which: SessionSelection,
    prepare: (trx: AnyKysely) => Promise<void>,
    entry: (ids: string[]) => AuditEntry,
  ): Promise<string[]> {
    const ids = await db.transaction(async (trx: AnyKysely) => {
      await prepare(trx);
      const revoked = await createSessionAdminStore({ kysely: trx }).revoke(
        tenantId,
        userId,
        which,
        'revoked',
      );
      if (revoked.length > 0) await audit.inTransaction(trx, actor.audit, [entry(revoked)]);
      return revoked;
    });
    if (ids.length > 0) changes.changed({ kind: 'user', id: userId });
    return ids;
  }

  const manyRevoked =
    (tenantId: string, userId: string, reason: string) =>
    (ids: string[]): AuditEntry => ({
      tenant_id: tenantId,
      action: 'sessions.revoked',
      target: `user:${userId}`,
      outcome: 'success',
      details: { session_ids: ids, count: ids.length, reason },
    });

  async function checkMember(
    trx: AnyKysely,
    actor: Actor,
    userId: string,
    manage: boolean,
  ): Promise<void> {
    const tenantId = actor.principal.tenantId;
    const roles = await deps.storedRolesOf(trx, tenantId, userId);
    if (roles === undefined) throw notAMember(userId);
    // Ending someone's sessions is managing them: not for a caller holding less.
    if (manage) await deps.roles.checkDelegable(trx, actor.principal, tenantId, roles);
  }

  return {
    listOwn(actor, page) {
      const own = ownSession(actor);
      return createSessionAdminStore(db).listLive(own.tenantId, own.userId, page);
    },

    async revokeOwn(actor, sessionId) {
      const own = ownSession(actor);
      const revoked = await revokeAudited(
        actor,
        own.tenantId,
        own.userId,
        { only: sessionId },
        async () => {},
        () => ({
          tenant_id: own.tenantId,
          action: 'session.revoked',
          target: `session:${sessionId}`,
          outcome: 'success',
          details: { user_id: own.userId, current: sessionId === own.sessionId },
        }),
      );
      if (revoked.length === 0) {
        throw new TesseraError(
          IdentityErrors.session_not_found,
          `you have no live session with the id ${sessionId}`,
        );
      }
    },

    revokeOwnOthers(actor) {
      const own = ownSession(actor);
      return revokeAudited(
        actor,
        own.tenantId,
        own.userId,
        { except: own.sessionId },
        async () => {},
        manyRevoked(own.tenantId, own.userId, 'others_of_user'),
      );
    },

    async listOfUser(actor, userId, page) {
      // Reads need no transaction (on SQLite one would take the write lock).
      await checkMember(db.kysely, actor, userId, false);
      return createSessionAdminStore(db).listLive(actor.principal.tenantId, userId, page);
    },

    revokeAllOfUser(actor, userId) {
      const tenantId = actor.principal.tenantId;
      return revokeAudited(
        actor,
        tenantId,
        userId,
        {},
        (trx) => checkMember(trx, actor, userId, true),
        manyRevoked(tenantId, userId, 'administrator'),
      );
    },
  };
}
