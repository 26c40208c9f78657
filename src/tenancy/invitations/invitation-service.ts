import { sql } from 'kysely';
import type { Actor } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { normalizeEmail } from '../../identity/users/normalize-email.ts';
import { emailTaken } from '../../identity/users/user-service.ts';
import { TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { endAnsweringSessions } from './answering-sessions.ts';
import {
  type InvitationDelivery,
  newInvitationToken,
  queueInvitationEmail,
} from './invitation-email.ts';
import { createInvitationStore, type Invitation } from './invitation-store.ts';
import { joinInvitedTenant } from './join-invited-tenant.ts';

/**
 * What the inviter is told: the same whether the email belonged to an identity or
 * not, so adding a member reveals nothing about the rest of the deployment.
 */
export interface InvitedAnswer {
  readonly status: 'invited';
  readonly id: string;
  readonly email: string;
  readonly roles: readonly string[];
  readonly team_ids: readonly string[];
  readonly expires_ms: number;
}

/** For an email that belongs to nobody yet: the identity the invitation creates. */
export interface NewIdentity {
  readonly name?: string | undefined;
  readonly password_hash: string | null;
}

/**
 * Invites the identity of `email` to `tenantId` with `roles` (already normalised and
 * checked delegable) and `teamIds` (checked to be the tenant's), inside the caller's
 * transaction; creates the identity when no one has the email. When email can leave,
 * the invitation gets a fresh token (replacing an earlier invitation's, whose link
 * stops working) and its email is queued in the same transaction: the caller flushes
 * the mailer once it commits. Returns the audit entries to append: `user.invited` in
 * the tenant's trail either way, and `user.created` in the platform's (which no
 * tenant reads) only for a new identity. The caller has checked the user is no member.
 */
export async function inviteInTransaction(
  trx: AnyKysely,
  actor: Actor,
  invite: {
    tenantId: string;
    email: string;
    roles: readonly string[];
    teamIds?: readonly string[] | undefined;
    identity: NewIdentity;
  },
  delivery: InvitationDelivery,
): Promise<{ answer: InvitedAnswer; entries: AuditEntry[]; userId: string }> {
  const email = normalizeEmail(invite.email);
  const teamIds = invite.teamIds ?? [];
  const { user, existing } = await findOrCreateIdentity(trx, email, invite.identity);
  const token = delivery.mailer.configured ? newInvitationToken() : null;
  const { id, expires_ms } = await createInvitationStore(trx).put({
    tenant_id: invite.tenantId,
    user_id: user.id,
    roles: invite.roles,
    team_ids: teamIds,
    invited_by: actor.audit.actor,
    ttl_ms: delivery.ttlSeconds * 1000,
    token_digest: token?.digest ?? null,
  });
  if (token) {
    const tenant = await createTenantStore({ kysely: trx }).get(invite.tenantId);
    await queueInvitationEmail(trx, delivery, actor, {
      tenantId: invite.tenantId,
      tenantName: tenant?.name ?? invite.tenantId,
      to: email,
      inviteeName: user.name,
      roles: invite.roles,
      token: token.token,
    });
  }
  const entries = [
    userEntry(invite.tenantId, 'user.invited', user.id, {
      email,
      roles: invite.roles,
      team_ids: teamIds,
      invitation_id: id,
      expires_ms,
      email_sent: token !== null,
    }),
  ];
  if (!existing) {
    entries.push(
      userEntry(SYSTEM_TENANT_ID, 'user.created', user.id, { email, invited_to: invite.tenantId }),
    );
  }
  return {
    answer: { status: 'invited', id, email, roles: invite.roles, team_ids: teamIds, expires_ms },
    entries,
    userId: user.id,
  };
}

/**
 * The identity of `email`, created when there is none. Another transaction (an
 * invitation from another tenant, a sign-up) may create it between the lookup and
 * the insert: the insert then fails inside a savepoint, which is rolled back, and the
 * identity now committed is the one invited, so the answer stays the same.
 */
async function findOrCreateIdentity(trx: AnyKysely, email: string, identity: NewIdentity) {
  const users = identityIn(trx).users;
  const found = await users.findByEmail(email);
  if (found) return { user: found, existing: true };
  await sql`SAVEPOINT invited_identity`.execute(trx);
  const inserted = await users.insert({
    email,
    name: identity.name,
    password_hash: identity.password_hash,
  });
  if (inserted.ok) {
    await sql`RELEASE SAVEPOINT invited_identity`.execute(trx);
    return { user: inserted.user, existing: false };
  }
  await sql`ROLLBACK TO SAVEPOINT invited_identity`.execute(trx);
  const raced = await users.findByEmail(email);
  if (!raced) throw emailTaken(email);
  return { user: raced, existing: true };
}

export interface InvitationServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely' | 'capabilities'>;
  readonly audit: AuditLog;
  readonly changes: CredentialChanges;
}

/** Only a signed-in user answers their own invitations: never an API key. */
function userOf(principal: Principal): string {
  if (principal.kind !== 'user' || principal.userId === null) {
    throw new TesseraError(
      HttpErrors.bad_request,
      "An API key has no invitations; use a user's access token.",
    );
  }
  return principal.userId;
}

function notFound(): TesseraError {
  return new TesseraError(
    TenancyErrors.invitation_not_found,
    'You have no pending invitation with that id (expired, answered, or never yours).',
  );
}

/** The signed-in user's side: list, accept, decline. */
export function createInvitationService(deps: InvitationServiceDeps) {
  const { db, audit, changes } = deps;

  return {
    async listMine(principal: Principal): Promise<Invitation[]> {
      return createInvitationStore(db.kysely).listForUser(userOf(principal));
    },

    /**
     * Consumes the invitation and makes the membership with its roles and teams,
     * atomically with `invitation.accepted` in the tenant's trail. 404
     * `invitation_not_found`, 409 `member_exists` (a platform administrator added the
     * user meanwhile), 400 `invalid_roles` (see join-invited-tenant.ts).
     */
    async accept(actor: Actor, id: string): Promise<{ tenant_id: string; roles: string[] }> {
      const userId = userOf(actor.principal);
      const joined = await db.transaction(async (trx: AnyKysely) => {
        const consumed = await createInvitationStore(trx).consume(userId, id);
        if (!consumed) throw notFound();
        if (!(await createTenantStore({ kysely: trx }).get(consumed.tenant_id))) throw notFound();
        const done = await joinInvitedTenant(trx, db.capabilities, { ...consumed, id }, userId);
        await audit.inTransaction(trx, actor.audit, done.entries);
        return { tenant_id: done.tenant_id, roles: done.roles };
      });
      changes.changed({ kind: 'user', id: userId });
      return joined;
    },

    /**
     * Consumes the invitation without joining; its tenant's trail hears of it. The
     * user's sessions in that tenant end with it when they are no member there
     * (opened only to answer), in the same transaction.
     */
    async decline(actor: Actor, id: string): Promise<void> {
      const userId = userOf(actor.principal);
      await db.transaction(async (trx: AnyKysely) => {
        const consumed = await createInvitationStore(trx).consume(userId, id);
        if (!consumed) throw notFound();
        const tenantId = consumed.tenant_id;
        const revoked = await endAnsweringSessions(trx, tenantId, userId, 'invitation_declined');
        await audit.inTransaction(trx, actor.audit, [
          userEntry(tenantId, 'invitation.declined', userId, {
            invitation_id: id,
            sessions_revoked: revoked,
          }),
        ]);
      });
      changes.changed({ kind: 'user', id: userId });
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
