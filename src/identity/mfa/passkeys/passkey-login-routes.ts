import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../../access/audit-context.ts';
import type { Principal } from '../../../access/principal.ts';
import { TokenSet } from '../../login/auth-routes.ts';
import { RequestOptionsJson } from './ceremony-options-json.ts';
import type { PasskeyService } from './passkey-service.ts';
import { sessionCaller } from './session-caller.ts';
import { AuthenticationResponse } from './webauthn-json.ts';

/**
 * Signing in with a passkey: the usernameless first factor (`/auth/passkeys/login/*`)
 * and the options of a passkey as a second factor (`/auth/mfa/webauthn/*`), whose
 * response goes to `POST /auth/mfa/verify` or `/auth/mfa/step-up` (docs/mfa.md#passkeys).
 * The public ones spend the client IP's rate limit bucket like every public route.
 */
export const passkeyLoginRoutes: FastifyPluginAsyncTypebox<{ passkeys: PasskeyService }> = async (
  app,
  { passkeys },
) => {
  app.post(
    '/auth/passkeys/login/options',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Begin a passwordless, usernameless sign-in with a passkey',
        response: { 200: RequestOptionsJson },
      },
    },
    () => passkeys.login.options(),
  );

  app.post(
    '/auth/passkeys/login/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with the browser’s passkey assertion; answers like a login',
        body: Type.Object({ response: AuthenticationResponse }, { additionalProperties: false }),
        response: { 200: TokenSet },
      },
    },
    (request) => passkeys.login.verify(request.body.response, auditContextOf(request)),
  );

  app.post(
    '/auth/mfa/webauthn/options',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Options for proving a passkey as the second step of a login',
        body: Type.Object(
          { mfa_token: Type.String({ minLength: 1, maxLength: 512 }) },
          { additionalProperties: false },
        ),
        response: { 200: RequestOptionsJson },
      },
    },
    (request) => passkeys.secondFactor.loginOptions(request.body.mfa_token),
  );

  app.post(
    '/auth/mfa/webauthn/step-up-options',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags: ['auth'],
        summary: 'Options for proving a passkey to step up this session',
        response: { 200: RequestOptionsJson },
      },
    },
    (request) =>
      passkeys.secondFactor.stepUpOptions(
        sessionCaller(request.principal as Principal, 'step up with a passkey'),
      ),
  );
};
