import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../../access/audit-context.ts';
import type { Principal } from '../../../access/principal.ts';
import { TokenSet } from '../../login/auth-routes.ts';
import { SecondFactorMethodSchema } from './mfa-challenge-json.ts';
import type { SecondStep } from './second-step-service.ts';

/** A second-factor proof: a code for `totp` and `recovery_code`, the authenticator's response for `webauthn`. */
const proofFields = {
  method: SecondFactorMethodSchema,
  code: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'A TOTP code or a recovery code.' }),
  ),
  response: Type.Optional(
    Type.Object(
      {},
      {
        additionalProperties: true,
        description: 'For webauthn: the JSON of the navigator.credentials.get() answer.',
      },
    ),
  ),
};

/** `/api/v1/auth/mfa`: a login's second step and step-up (docs/mfa.md). */
export const mfaRoutes: FastifyPluginAsyncTypebox<{ secondStep: SecondStep }> = async (
  app,
  { secondStep },
) => {
  app.post(
    '/auth/mfa/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: "Complete a sign-in with a second factor: the login's mfa_token and one method",
        body: Type.Object(
          { mfa_token: Type.String({ minLength: 1, maxLength: 128 }), ...proofFields },
          { additionalProperties: false },
        ),
        response: { 200: TokenSet },
      },
    },
    (request) => secondStep.verify(request.body, auditContextOf(request)),
  );

  app.post(
    '/auth/mfa/step-up',
    {
      // mfaSetup: a session the tenant's policy covers proves its factor here first.
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary:
          'Prove a second factor again in this session (sensitive operations need a recent one)',
        body: Type.Object(proofFields, { additionalProperties: false }),
        response: {
          200: Type.Object({
            amr: Type.Array(Type.String()),
            second_factor_at: Type.String({ format: 'date-time' }),
            step_up_until: Type.String({ format: 'date-time' }),
          }),
        },
      },
    },
    async (request) => {
      const stepped = await secondStep.stepUp(
        request.principal as Principal,
        request.body,
        auditContextOf(request),
      );
      return { ...stepped, amr: [...stepped.amr] };
    },
  );
};
