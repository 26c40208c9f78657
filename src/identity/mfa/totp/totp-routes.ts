import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../../access/actor.ts';
import { RecoveryCodes } from '../recovery-codes/recovery-codes-schema.ts';
import type { TotpService } from './totp-service.ts';

/** `/api/v1/auth/mfa/totp`: the caller's own authenticator app (RFC 6238). */
export const totpRoutes: FastifyPluginAsyncTypebox<{ totp: TotpService }> = async (
  app,
  { totp },
) => {
  app.post(
    '/auth/mfa/totp',
    {
      // Open to a session that must enroll a factor before anything else.
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Start enrolling an authenticator app: its secret, otpauth URI and QR code',
        response: {
          200: Type.Object({
            secret: Type.String({ description: 'Base32, for typing into the app.' }),
            otpauth_uri: Type.String(),
            qr_code: Type.String({ description: 'The URI as a PNG data URI.' }),
          }),
        },
      },
    },
    (request) => totp.enroll(actorOf(request)),
  );

  app.post(
    '/auth/mfa/totp/confirm',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Activate the authenticator app with its current code; answers recovery codes',
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 16 }) },
          { additionalProperties: false },
        ),
        response: { 200: RecoveryCodes },
      },
    },
    (request) => totp.confirm(actorOf(request), request.body.code),
  );

  app.delete(
    '/auth/mfa/totp',
    {
      config: { access: 'authenticated', stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Remove the authenticator app (needs a recent second-factor check)',
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await totp.remove(actorOf(request));
      return reply.code(204).send(null);
    },
  );
};
