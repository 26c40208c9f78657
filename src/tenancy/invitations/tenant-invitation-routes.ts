import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import { TenantIdSchema } from '../tenants/tenant-json.ts';
import type {
  TenantInvitation as TenantInvitationRecord,
  TenantInvitationService,
} from './tenant-invitation-service.ts';

const Time = Type.String({ format: 'date-time' });
/** A pending invitation as its tenant sees it (here and at `/invitations`). */
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
const Empty = Type.Null({ description: 'No content.' });
const tags = ['tenants'];
// Platform administrators, or `members:manage` in that tenant: decided by the service.
const config = { access: 'authenticated' } as const;
const iso = (ms: number) => new Date(ms).toISOString();

/** The JSON of one listed invitation. */
export function tenantInvitationJson({ created_ms, expires_ms, ...rest }: TenantInvitationRecord) {
  return { ...rest, created_at: iso(created_ms), expires_at: iso(expires_ms) };
}

/**
 * `/api/v1/tenants/{id}/invitations`: the invitations a tenant has sent and not seen
 * answered, for its administrators to review and withdraw.
 */
export const tenantInvitationRoutes: FastifyPluginAsyncTypebox<{
  invitations: TenantInvitationService;
}> = async (app, { invitations }) => {
  app.get(
    '/tenants/:id/invitations',
    {
      config,
      schema: {
        tags,
        summary: 'List the tenant’s pending, unexpired invitations by id',
        description:
          'What the inviter chose (email, roles), never whether the email belonged to an identity before.',
        params: Type.Object({ id: TenantIdSchema }),
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            invitations: Type.Array(TenantInvitation),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { limit } = request.query;
      const found = await invitations.list(
        request.principal as Principal,
        request.params.id,
        request.query,
      );
      return {
        invitations: found.map(tenantInvitationJson),
        next_cursor: nextCursor(found, limit, (invitation) => invitation.id),
      };
    },
  );

  app.delete(
    '/tenants/:id/invitations/:invitation_id',
    {
      config,
      schema: {
        tags,
        summary: 'Cancel a pending invitation; the invitee can no longer accept it',
        params: Type.Object({
          id: TenantIdSchema,
          invitation_id: Type.String({ minLength: 1, maxLength: 64 }),
        }),
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      const { id, invitation_id } = request.params;
      await invitations.cancel(actorOf(request), id, invitation_id);
      return reply.code(204).send(null);
    },
  );
};
