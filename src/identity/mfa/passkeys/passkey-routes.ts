import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../../access/audit-context.ts';
import type { Principal } from '../../../access/principal.ts';
import { CreationOptionsJson } from './ceremony-options-json.ts';
import { PasskeyJson, passkeyJson } from './passkey-json.ts';
import type { PasskeyService } from './passkey-service.ts';
import { sessionCaller } from './session-caller.ts';
import { RegistrationResponse } from './webauthn-json.ts';

const PasskeyName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const PasskeyId = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1400, pattern: '^[A-Za-z0-9_-]+$' }),
});
const Empty = Type.Null({ description: 'No content.' });

/** `/api/v1/auth/passkeys`: the caller's own passkeys (docs/mfa.md#passkeys). Sessions only. */
export const passkeyRoutes: FastifyPluginAsyncTypebox<{ passkeys: PasskeyService }> = async (
  app,
  { passkeys },
) => {
  const callerOf = (request: { principal: Principal | null }, action: string) =>
    sessionCaller(request.principal as Principal, action);

  app.post(
    '/auth/passkeys/register/options',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Begin registering a passkey (needs a recent password or factor check)',
        response: { 200: CreationOptionsJson },
      },
    },
    (request) => passkeys.registration.options(callerOf(request, 'register a passkey')),
  );

  app.post(
    '/auth/passkeys/register/verify',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Finish registering a passkey with the browser’s response',
        body: Type.Object(
          { response: RegistrationResponse, name: Type.Optional(PasskeyName) },
          { additionalProperties: false },
        ),
        response: { 201: PasskeyJson },
      },
    },
    async (request, reply) => {
      const created = await passkeys.registration.verify(
        callerOf(request, 'register a passkey'),
        request.body,
        auditContextOf(request),
      );
      return reply.code(201).send(passkeyJson(created));
    },
  );

  app.get(
    '/auth/passkeys',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'The caller’s passkeys (never their public keys)',
        response: { 200: Type.Object({ passkeys: Type.Array(PasskeyJson) }) },
      },
    },
    async (request) => ({
      passkeys: (await passkeys.manage.list(callerOf(request, 'list passkeys'))).map(passkeyJson),
    }),
  );

  app.patch(
    '/auth/passkeys/:id',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Rename one of the caller’s passkeys',
        params: PasskeyId,
        body: Type.Object({ name: PasskeyName }, { additionalProperties: false }),
        response: { 200: PasskeyJson },
      },
    },
    async (request) =>
      passkeyJson(
        await passkeys.manage.rename(
          callerOf(request, 'rename a passkey'),
          request.params.id,
          request.body.name,
          auditContextOf(request),
        ),
      ),
  );

  app.delete(
    '/auth/passkeys/:id',
    {
      config: { access: 'authenticated', stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Remove one of the caller’s passkeys (needs a recent second factor)',
        params: PasskeyId,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await passkeys.manage.remove(
        callerOf(request, 'remove a passkey'),
        request.params.id,
        auditContextOf(request),
      );
      return reply.code(204).send(null);
    },
  );
};
