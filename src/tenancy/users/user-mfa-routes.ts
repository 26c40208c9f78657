import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { UserFactors } from '../../identity/mfa/factor-admin/user-factors.ts';
import type { UserMfaService } from './user-mfa-service.ts';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const Passkey = Type.Object({
  id: Type.String({ description: 'The credential id (base64url).' }),
  name: Type.String(),
  created_at: Time,
  last_used_at: NullableTime,
  device_type: Type.String({ description: '`singleDevice` or `multiDevice` (synced).' }),
  backed_up: Type.Boolean(),
});
const UserFactorsSchema = Type.Object({
  totp: Type.Object({ enabled: Type.Boolean(), confirmed_at: NullableTime }),
  passkeys: Type.Array(Passkey),
  recovery_codes: Type.Object({ remaining: Type.Integer({ minimum: 0 }) }),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const tags = ['users'];
// The permission for MFA administration; the service checks it again.
const access = 'members:manage';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Never a secret, digest or public key: only what a person would recognise. */
function toJson(factors: UserFactors) {
  return {
    totp: {
      enabled: factors.totp_confirmed_ms !== null,
      confirmed_at: iso(factors.totp_confirmed_ms),
    },
    passkeys: factors.passkeys.map((passkey) => ({
      id: passkey.id,
      name: passkey.name,
      created_at: new Date(passkey.created_ms).toISOString(),
      last_used_at: iso(passkey.last_used_ms),
      device_type: passkey.device_type,
      backed_up: passkey.backed_up,
    })),
    recovery_codes: { remaining: factors.recovery_codes_remaining },
  };
}

/** `/api/v1/users/{id}/mfa`: a member's second factors, seen and reset by administrators. */
export const userMfaRoutes: FastifyPluginAsyncTypebox<{ mfa: UserMfaService }> = async (
  app,
  { mfa },
) => {
  app.get(
    '/users/:id/mfa',
    {
      config: { access },
      schema: {
        tags,
        summary: 'A member’s second factors (never secrets or keys)',
        params: IdParams,
        response: { 200: UserFactorsSchema },
      },
    },
    async (request) => toJson(await mfa.factorsOf(actorOf(request), request.params.id)),
  );

  app.delete(
    '/users/:id/mfa',
    {
      // Removing someone's factors opens their account to a password alone.
      config: { access, stepUp: true },
      schema: {
        tags,
        summary: 'Reset a member’s MFA: remove their TOTP, passkeys and recovery codes',
        description:
          'Also voids their pending MFA sign-ins and WebAuthn challenges. Audited (`mfa.reset`); the member is emailed (`mfa_changed`). Their sessions stay.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await mfa.reset(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
