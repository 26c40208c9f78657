import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import { Email, SignInAnswer, TenantId } from '../login/auth-routes.ts';
import type { MagicLinkService } from './magic-link-service.ts';

/** The one answer to every well-formed request: it says nothing about the account. */
const REQUESTED = {
  message:
    'If this address belongs to an account that may sign in here, a sign-in link is on its way.',
} as const;

/** `/api/v1/auth/magic-link`: passwordless sign-in by email (docs/identity.md#magic-links). */
export const magicLinkRoutes: FastifyPluginAsyncTypebox<{ magicLinks: MagicLinkService }> = async (
  app,
  { magicLinks },
) => {
  app.post(
    '/auth/magic-link',
    {
      // The per-address rate limit: nobody floods an inbox through this route.
      config: { access: 'public', rateLimitEmail: 'email' },
      schema: {
        tags: ['auth'],
        summary: 'Email a single-use sign-in link (the answer is the same for any address)',
        body: Type.Object(
          {
            email: Email,
            tenant_id: Type.Optional(TenantId),
            redirect_uri: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 2048,
                description:
                  "Where the link's page sends the tokens: exactly one of the tenant's redirect URIs; needs tenant_id.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ message: Type.String() }) },
      },
    },
    async (request, reply) => {
      await magicLinks.request(request.body, auditContextOf(request));
      return reply.code(202).send(REQUESTED);
    },
  );

  app.post(
    '/auth/magic-link/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: "Sign in with a magic link's token (single use); answers like a login",
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 512 }) },
          { additionalProperties: false },
        ),
        response: { 200: SignInAnswer },
      },
    },
    async (request) => (await magicLinks.use(request.body.token, auditContextOf(request))).tokens,
  );
};
