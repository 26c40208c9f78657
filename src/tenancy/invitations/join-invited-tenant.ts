import type { AuditEntry } from '../../audit/audit-entry.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, Capabilities } from '../../storage/database.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import { TenancyErrors } from '../errors.ts';
import type { RoleName } from '../role-names.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { createTeamStore } from '../teams/team-store.ts';
import { createUserAdminStore } from '../users/user-admin-store.ts';
import type { ConsumedInvitation } from './invitation-store.ts';

/** What joining made: the roles held, the teams joined, and the events to record. */
export interface Joined {
  readonly tenant_id: string;
  readonly roles: RoleName[];
  readonly team_ids: string[];
  readonly entries: AuditEntry[];
}

const policy = createRolePolicy();

/**
 * Makes the membership an invitation promised, in the transaction that consumed it
 * (so a refusal here gives the invitation back): by the invitee's own answer while
 * signed in (`/auth/invitations/{id}/accept`) and by its email's link alike. The
 * caller has checked the tenant is live. The tenant is locked first (the member and
 * admin counts others read stay true); the roles are normalised again, so a custom
 * role deleted since is 400 `invalid_roles`; a membership made meanwhile (a platform
 * administrator's) is 409 `member_exists`. Teams deleted since are skipped: the
 * invitation promised a place in a team that is gone.
 */
export async function joinInvitedTenant(
  trx: AnyKysely,
  capabilities: Capabilities,
  invitation: ConsumedInvitation & { readonly id: string },
  userId: string,
): Promise<Joined> {
  const tenantId = invitation.tenant_id;
  const members = createUserAdminStore(
    { kysely: trx },
    { rowLocks: capabilities.concurrentWriters },
  );
  await members.lockTenant(tenantId);
  const roles = await policy.normalize(trx, tenantId, invitation.roles);
  try {
    await members.addMembership(tenantId, userId, roles);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new TesseraError(TenancyErrors.member_exists, 'You are a member of that tenant already.');
  }
  const teams = createTeamStore({ kysely: trx, capabilities });
  const joinedTeams: string[] = [];
  const entries: AuditEntry[] = [];
  for (const teamId of invitation.team_ids) {
    if (!(await teams.find(tenantId, teamId, { lock: true }))) continue;
    if (!(await teams.addMember(tenantId, teamId, userId))) continue;
    joinedTeams.push(teamId);
    entries.push({
      tenant_id: tenantId,
      action: 'team.member_added',
      target: `team:${teamId}`,
      outcome: 'success',
      details: { user_id: userId, invitation_id: invitation.id },
    });
  }
  entries.unshift(
    userEntry(tenantId, 'invitation.accepted', userId, {
      invitation_id: invitation.id,
      roles,
      team_ids: joinedTeams,
    }),
  );
  return { tenant_id: tenantId, roles, team_ids: joinedTeams, entries };
}
