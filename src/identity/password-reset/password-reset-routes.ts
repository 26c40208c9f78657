import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import { MAX_EMAIL_TOKEN_LENGTH } from '../email-tokens/email-token-invalid.ts';
import type { PasswordResetByEmail } from './password-reset.ts';

const Accepted = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});

/** The one answer to every forgotten-password request: it says nothing about the account. */
const ACCEPTED = {
  status: 'accepted',
  detail: 'If an account has this address, a password reset link is on its way to it.',
} as const;

/** `/api/v1/auth/password/forgot` and `/reset`: a forgotten password, by email. */
export const passwordResetRoutes: FastifyPluginAsyncTypebox<{
  passwordReset: PasswordResetByEmail;
}> = async (app, { passwordReset }) => {
  app.post(
    '/auth/password/forgot',
    {
      config: { access: 'public', rateLimitEmail: 'email' },
      schema: {
        tags: ['auth'],
        summary: 'Email a password reset link, if an account has the address',
        description:
          'Answers the same 202 whether or not an account has the address, is disabled, or belongs to the tenant named.',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            tenant_id: Type.Optional(
              Type.String({
                pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
                description: "Mail only a member of this tenant, with the tenant's branding.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await passwordReset.forgot(request.body, auditContextOf(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post(
    '/auth/password/reset',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: "Set a new password with the token of a reset email's link; every session ends",
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: MAX_EMAIL_TOKEN_LENGTH }),
            new_password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await passwordReset.reset(request.body, auditContextOf(request));
      return reply.code(204).send(null);
    },
  );
};
