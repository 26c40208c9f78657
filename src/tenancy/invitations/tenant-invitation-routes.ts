import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { IdPageQuery } from '../../http/pagination.ts';
import { TenantIdSchema } from '../tenants/tenant-json.ts';
import { TenantInvitationPage, tenantInvitationPageJson } from './invitation-json.ts';
import type { TenantInvitationService } from './tenant-invitation-service.ts';

const Empty = Type.Null({ description: 'No content.' });
const tags = ['tenants'];
// Platform administrators, or `members:manage` in that tenant: decided by the service.
const config = { access: 'authenticated' } as const;

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
          200: TenantInvitationPage,
        },
      },
    },
    async (request) => {
      const found = await invitations.list(
        request.principal as Principal,
        request.params.id,
        request.query,
      );
      return tenantInvitationPageJson(found, request.query.limit);
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
