import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Principal } from '../../../access/principal.ts';
import type { OwnFactorsService } from './own-factors.ts';

const Method = Type.Union([
  Type.Literal('totp'),
  Type.Literal('webauthn'),
  Type.Literal('recovery_code'),
]);
const OwnFactorsSchema = Type.Object({
  totp: Type.Object({ enabled: Type.Boolean() }),
  passkeys: Type.Integer({ minimum: 0, description: 'How many passkeys you registered.' }),
  recovery_codes: Type.Object({
    remaining: Type.Integer({ minimum: 0, description: 'Unused recovery codes.' }),
  }),
  methods: Type.Array(Method, {
    description: 'What you can prove a second factor with now (login, step-up).',
  }),
});

/** `GET /api/v1/auth/mfa`: the caller's own second factors. */
export const ownFactorsRoutes: FastifyPluginAsyncTypebox<{ factors: OwnFactorsService }> = async (
  app,
  { factors },
) => {
  app.get(
    '/auth/mfa',
    {
      // A session that must enroll a factor needs to see what it has.
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Your second factors: TOTP, passkeys, recovery codes left (never secrets)',
        response: { 200: OwnFactorsSchema },
      },
    },
    async (request) => {
      const own = await factors.of(request.principal as Principal);
      return {
        totp: { enabled: own.totp_enabled },
        passkeys: own.passkeys,
        recovery_codes: { remaining: own.recovery_codes_remaining },
        methods: own.methods,
      };
    },
  );
};
