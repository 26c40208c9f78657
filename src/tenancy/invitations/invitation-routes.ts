import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { InvitationService } from './invitation-service.ts';

export interface InvitationRoutesOptions {
  readonly invitations: InvitationService;
}

const Time = Type.String({ format: 'date-time' });
const Invitation = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  tenant_name: Type.String(),
  roles: Type.Array(Type.String()),
  created_at: Time,
  expires_at: Time,
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Empty = Type.Null({ description: 'No content.' });
const tags = ['auth'];
// The signed-in user's own invitations, whatever tenant their token names.
const config = { access: 'authenticated' } as const;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `/api/v1/auth/invitations`: invitations of the signed-in user to join tenants,
 * which they accept or decline. Nobody else can answer them.
 */
export const invitationRoutes: FastifyPluginAsyncTypebox<InvitationRoutesOptions> = async (
  app,
  { invitations },
) => {
  app.get(
    '/auth/invitations',
    {
      config,
      schema: {
        tags,
        summary: 'Your pending invitations to join tenants (at most 100, newest first)',
        response: { 200: Type.Object({ invitations: Type.Array(Invitation) }) },
      },
    },
    async (request) => {
      const found = await invitations.listMine(request.principal as Principal);
      return {
        invitations: found.map(({ created_ms, expires_ms, ...rest }) => ({
          ...rest,
          created_at: iso(created_ms),
          expires_at: iso(expires_ms),
        })),
      };
    },
  );

  app.post(
    '/auth/invitations/:id/accept',
    {
      config,
      schema: {
        tags,
        summary: 'Join the tenant with the invited roles (log in there to use them)',
        params: IdParams,
        response: {
          200: Type.Object({ tenant_id: Type.String(), roles: Type.Array(Type.String()) }),
        },
      },
    },
    async (request) => invitations.accept(actorOf(request), request.params.id),
  );

  app.post(
    '/auth/invitations/:id/decline',
    {
      config,
      schema: {
        tags,
        summary: 'Decline the invitation; the tenant can invite you again',
        params: IdParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await invitations.decline(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
