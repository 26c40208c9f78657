import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import { TokenSet } from '../../identity/login/auth-routes.ts';
import type { InvitationLinkService } from './invitation-link-service.ts';

/**
 * `POST /api/v1/auth/invitations/accept`: accepting an invitation with the token its
 * email carried, for applications that show their own page (Tessera's own is
 * `GET /auth/invitations/accept`, invitation-page.ts). Public: the token is the proof;
 * an access token, when sent, says who signed in (needed for an existing account).
 */
export const invitationLinkRoutes: FastifyPluginAsyncTypebox<{
  links: InvitationLinkService;
}> = async (app, { links }) => {
  app.post(
    '/auth/invitations/accept',
    {
      config: { access: 'public', optionalCredentials: true },
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation with its email’s token; answers a session in that tenant',
        description:
          'An account the invitation created sets its `password` (and `name`) here, and its address counts as verified. Public, but an access token sent with it is checked: an account that has a password must send its own (`Authorization: Bearer`), else 401 `invitation_login_required`. Unknown, used, replaced or expired tokens: 400 `email_token_invalid`. Nothing is used up by a refused request.',
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 512 }),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: TokenSet },
      },
    },
    async (request) => {
      const accepted = await links.accept(
        request.body,
        { principal: request.principal, audit: auditContextOf(request) },
        { session: true },
      );
      return accepted.tokens;
    },
  );
};
