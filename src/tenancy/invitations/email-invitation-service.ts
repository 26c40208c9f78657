import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { createTeamStore } from '../teams/team-store.ts';
import { checkTenantAccess } from '../tenants/tenant-access.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { createUserAdminStore } from '../users/user-admin-store.ts';
import {
  type InvitationDelivery,
  newInvitationToken,
  queueInvitationEmail,
} from './invitation-email.ts';
import { type InvitedAnswer, inviteInTransaction } from './invitation-service.ts';
import { createInvitationStore } from './invitation-store.ts';

export interface EmailInvitationDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'capabilities'>;
  readonly audit: AuditLog;
  readonly delivery: InvitationDelivery;
}

/** `POST /invitations`: whom to invite, as what, into which of the tenant's teams. */
export interface InvitationRequest {
  readonly email: string;
  readonly role: string;
  readonly team_ids?: readonly string[] | undefined;
}

const policy = createRolePolicy();

/**
 * Putting the invitee in teams is managing teams: an inviter with `members:manage`
 * alone may invite, not place people in teams.
 */
function checkMayPlaceInTeams(actor: Actor, teamIds: readonly string[]): void {
  if (teamIds.length === 0 || actor.principal.permissions.has('teams:manage')) return;
  throw new TesseraError(
    AccessErrors.permission_denied,
    'Inviting into teams needs the teams:manage permission too.',
    { extensions: { permission: 'teams:manage' } },
  );
}

/** 404 `team_not_found` for an id that is no team of the tenant; the teams locked till commit. */
async function checkTeams(
  trx: AnyKysely,
  capabilities: DatabaseBase['capabilities'],
  tenantId: string,
  teamIds: readonly string[],
): Promise<void> {
  const teams = createTeamStore({ kysely: trx, capabilities });
  for (const id of teamIds) {
    if (!(await teams.find(tenantId, id, { lock: true }))) {
      throw new TesseraError(
        TenancyErrors.team_not_found,
        `no team of this tenant has the id ${id}`,
        {
          extensions: { team_id: id },
        },
      );
    }
  }
}

/**
 * Invitations by email in the caller's own tenant (`/invitations`, issue 17): invite
 * and resend. Both need email (503 `email_not_configured`, nothing changed) and
 * `members:manage`, and nobody invites, or re-invites, to a role stronger
 * than their own (403 `role_not_delegable`). Each change, its audit event and its email
 * are one transaction; the mailer is flushed once it commits.
 */
export function createEmailInvitationService(deps: EmailInvitationDeps) {
  const { db, audit, delivery } = deps;

  return {
    async invite(actor: Actor, request: InvitationRequest): Promise<InvitedAnswer> {
      const tenantId = actor.principal.tenantId;
      checkTenantAccess(actor.principal, tenantId, 'members:manage');
      const teamIds = [...new Set(request.team_ids ?? [])];
      checkMayPlaceInTeams(actor, teamIds);
      delivery.mailer.requireConfigured();
      const answer = await db.transaction(async (trx: AnyKysely) => {
        const members = createUserAdminStore(
          { kysely: trx },
          { rowLocks: db.capabilities.concurrentWriters },
        );
        if (!(await createTenantStore({ kysely: trx }).get(tenantId))) {
          throw new TesseraError(
            TenancyErrors.tenant_not_found,
            `no tenant has the id ${tenantId}`,
          );
        }
        await members.lockTenant(tenantId);
        const roles = await policy.normalize(trx, tenantId, [request.role]);
        await policy.checkDelegable(trx, actor.principal, tenantId, roles);
        await checkTeams(trx, db.capabilities, tenantId, teamIds);
        const existing = await identityIn(trx).users.findByEmail(request.email);
        if (existing && (await members.getMembership(tenantId, existing.id))) {
          throw new TesseraError(
            TenancyErrors.member_exists,
            `${existing.email} is already a member of this tenant`,
          );
        }
        const invited = await inviteInTransaction(
          trx,
          actor,
          {
            tenantId,
            email: request.email,
            roles,
            teamIds,
            identity: { password_hash: null },
          },
          delivery,
        );
        await audit.inTransaction(trx, actor.audit, invited.entries);
        return invited.answer;
      });
      delivery.mailer.flush();
      return answer;
    },

    /**
     * A new token (the old link stops working), a fresh expiry and a new email, with
     * `invitation.resent` in the trail. 404 `invitation_not_found` unless the tenant has
     * that invitation pending; resending roles is granting them (403
     * `role_not_delegable`, nothing changed). Without email, 503 `email_not_configured`
     * once the invitation is found (one made by `POST /users` while email was off).
     */
    async resend(actor: Actor, id: string): Promise<InvitedAnswer> {
      const tenantId = actor.principal.tenantId;
      checkTenantAccess(actor.principal, tenantId, 'members:manage');
      const answer = await db.transaction(async (trx: AnyKysely) => {
        const token = newInvitationToken();
        const renewed = await createInvitationStore(trx).reissue(tenantId, id, {
          token_digest: token.digest,
          ttl_ms: delivery.ttlSeconds * 1000,
        });
        const tenant = await createTenantStore({ kysely: trx }).get(tenantId);
        const user = renewed && (await identityIn(trx).users.findById(renewed.user_id));
        if (!renewed || !tenant || !user) {
          throw new TesseraError(
            TenancyErrors.invitation_not_found,
            `this tenant has no pending invitation ${id} (expired, answered, or cancelled)`,
          );
        }
        // Throwing here rolls the new token back with the transaction.
        await policy.checkDelegable(trx, actor.principal, tenantId, renewed.roles);
        delivery.mailer.requireConfigured();
        await queueInvitationEmail(trx, delivery, actor, {
          tenantId,
          tenantName: tenant.name,
          to: user.email,
          inviteeName: user.name,
          roles: renewed.roles,
          token: token.token,
        });
        await audit.inTransaction(trx, actor.audit, [
          userEntry(tenantId, 'invitation.resent', user.id, {
            invitation_id: id,
            expires_ms: renewed.expires_ms,
          }),
        ]);
        return {
          status: 'invited' as const,
          id,
          email: user.email,
          roles: renewed.roles,
          team_ids: renewed.team_ids,
          expires_ms: renewed.expires_ms,
        };
      });
      delivery.mailer.flush();
      return answer;
    },
  };
}

export type EmailInvitationService = ReturnType<typeof createEmailInvitationService>;
