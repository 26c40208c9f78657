import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { IdPageQuery } from '../../http/pagination.ts';
import type { EmailInvitationService } from './email-invitation-service.ts';
import { TenantInvitationPage, tenantInvitationPageJson } from './invitation-json.ts';
import type { InvitedAnswer } from './invitation-service.ts';
import type { TenantInvitationService } from './tenant-invitation-service.ts';

export interface InvitationAdminRoutesOptions {
  /** Invite and resend (email). */
  readonly emailInvitations: EmailInvitationService;
  /** List and cancel: the same as `/tenants/{id}/invitations`, on the caller's tenant. */
  readonly tenantInvitations: TenantInvitationService;
}

const Sent = Type.Object(
  {
    id: Type.String(),
    status: Type.Literal('invited'),
    email: Type.String(),
    roles: Type.Array(Type.String()),
    team_ids: Type.Array(Type.String()),
    expires_at: Type.String({ format: 'date-time' }),
  },
  {
    description:
      'The invitation, whose email is on its way; the same whether or not the address belonged to an identity.',
  },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Empty = Type.Null({ description: 'No content.' });
const tags = ['invitations'];
const config = { access: 'members:manage' } as const;

const sentJson = (answer: InvitedAnswer) => ({
  id: answer.id,
  status: answer.status,
  email: answer.email,
  roles: [...answer.roles],
  team_ids: [...answer.team_ids],
  expires_at: new Date(answer.expires_ms).toISOString(),
});

/**
 * `/api/v1/invitations`: the caller's tenant invites people by email (issue 17). The
 * invitee follows the email's link (`/auth/invitations/accept`).
 */
export const invitationAdminRoutes: FastifyPluginAsyncTypebox<
  InvitationAdminRoutesOptions
> = async (app, { emailInvitations, tenantInvitations }) => {
  app.post(
    '/invitations',
    {
      // Sends email to the address: spends from its rate-limit bucket.
      config: { ...config, rateLimitEmail: 'email', stepUp: true },
      schema: {
        tags,
        summary: 'Invite someone to this tenant by email',
        description:
          'Creates (or replaces) the pending invitation of that address with `role` and `team_ids` (placing people in teams needs `teams:manage` too), and emails its link. The role may grant nothing the caller lacks. The answer is the same whether or not the address belonged to an identity; 409 `member_exists` for a member; 503 `email_not_configured` when this server sends no email.',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            role: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_-]*$' }),
            team_ids: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Sent },
      },
    },
    async (request, reply) =>
      reply.code(202).send(sentJson(await emailInvitations.invite(actorOf(request), request.body))),
  );

  app.get(
    '/invitations',
    {
      config,
      schema: {
        tags,
        summary: 'This tenant’s pending, unexpired invitations by id',
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: TenantInvitationPage,
        },
      },
    },
    async (request) => {
      const principal = request.principal as Principal;
      const found = await tenantInvitations.list(principal, principal.tenantId, request.query);
      return tenantInvitationPageJson(found, request.query.limit);
    },
  );

  app.delete(
    '/invitations/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Revoke a pending invitation; its link stops working',
        params: IdParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await tenantInvitations.cancel(actor, actor.principal.tenantId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/invitations/:id/resend',
    {
      config,
      schema: {
        tags,
        summary: 'Email a pending invitation again, with a new link and a fresh expiry',
        description: 'The earlier link stops working.',
        params: IdParams,
        response: { 200: Sent },
      },
    },
    async (request) => sentJson(await emailInvitations.resend(actorOf(request), request.params.id)),
  );
};
