import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import { MAX_EMAIL_TOKEN_LENGTH } from '../email-tokens/email-token-invalid.ts';
import type { EmailVerification } from './email-verification.ts';

/** `/api/v1/auth/email/verify...`: ask for a verification link, and use one. */
export const emailVerificationRoutes: FastifyPluginAsyncTypebox<{
  verification: EmailVerification;
}> = async (app, { verification }) => {
  app.post(
    '/auth/email/verify/request',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: "Email the caller a link that verifies their address (a user's token only)",
        response: {
          202: Type.Object({
            email: Type.String({ description: 'Where the link was sent.' }),
            expires_at: Type.String({ format: 'date-time' }),
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await verification.request(request.principal as Principal, auditContextOf(request))),
  );

  app.post(
    '/auth/email/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: "Verify an address with the token of a verification email's link",
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: MAX_EMAIL_TOKEN_LENGTH }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            user_id: Type.String(),
            email: Type.String(),
            email_verified: Type.Literal(true),
          }),
        },
      },
    },
    (request) => verification.verify(request.body.token, auditContextOf(request)),
  );
};
