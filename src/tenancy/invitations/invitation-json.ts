import { Type } from 'typebox';
import { nextCursor } from '../../http/pagination.ts';
import type { InvitedAnswer } from './invitation-service.ts';
import type { TenantInvitation as TenantInvitationRecord } from './tenant-invitation-service.ts';

/** The answer to adding a member by email: the same whether the email was known or not. */
export const Invited = Type.Object(
  {
    status: Type.Literal('invited'),
    email: Type.String(),
    roles: Type.Array(Type.String()),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { description: 'An invitation awaits its user’s answer (GET /auth/invitations).' },
);

export function invitedJson(answer: InvitedAnswer) {
  return {
    status: answer.status,
    email: answer.email,
    roles: [...answer.roles],
    expires_at: new Date(answer.expires_ms).toISOString(),
  };
}

const Time = Type.String({ format: 'date-time' });
/** A pending invitation as its tenant sees it (`/tenants/{id}/invitations`, `/invitations`). */
export const TenantInvitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
  team_ids: Type.Array(Type.String(), {
    description: 'The teams of the tenant the invitee joins on accepting.',
  }),
  invited_by: Type.Union([Type.String(), Type.Null()], {
    description: 'Who invited: the user or API key id, as the audit trail’s `actor` names it.',
  }),
  created_at: Time,
  expires_at: Time,
});
/** One page of a tenant's pending invitations, by id. */
export const TenantInvitationPage = Type.Object({
  invitations: Type.Array(TenantInvitation),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();

export function tenantInvitationPageJson(found: readonly TenantInvitationRecord[], limit: number) {
  return {
    invitations: found.map(({ created_ms, expires_ms, ...rest }) => ({
      ...rest,
      created_at: iso(created_ms),
      expires_at: iso(expires_ms),
    })),
    next_cursor: nextCursor(found, limit, (invitation) => invitation.id),
  };
}
