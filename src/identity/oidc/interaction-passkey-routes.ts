import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import { MfaErrors } from '../mfa/mfa-errors.ts';
import type { PasskeyService } from '../mfa/passkeys/passkey-service.ts';
import { authenticationResponseOf } from '../mfa/passkeys/webauthn-json.ts';
import type { SecondStep } from '../mfa/second-step/second-step-service.ts';
import {
  expired,
  field,
  type InteractionFlow,
  offeredMethods,
  pageOfError,
  raw,
} from './interaction-flow.ts';
import { INTERACTION_PREFIX } from './oidc-paths.ts';
import type { OidcSignIn } from './oidc-sign-in.ts';

export interface InteractionPasskeyOptions {
  readonly signIn: OidcSignIn;
  readonly flow: InteractionFlow;
  readonly passkeys: Pick<PasskeyService, 'login' | 'secondFactor'>;
  readonly secondStep: Pick<SecondStep, 'verify'>;
}

/** Room for the largest assertion the WebAuthn JSON schema admits, encoded once more. */
const MAX_CREDENTIAL = 15 * 1024;

/** The posted `credential.toJSON()`, checked against the WebAuthn JSON schema (400 otherwise). */
function credentialOf(request: FastifyRequest): AuthenticationResponseJSON {
  let parsed: unknown;
  try {
    parsed = JSON.parse(field(request, 'credential', MAX_CREDENTIAL) ?? '');
  } catch {
    throw new TesseraError(
      MfaErrors.webauthn_verification_failed,
      'The passkey answer did not arrive: try again.',
    );
  }
  return authenticationResponseOf(parsed);
}

/**
 * A passkey on the hosted pages: the usernameless sign-in (WebAuthn discoverable
 * credentials) and a passkey as a sign-in's second step, through the passkey service
 * and the second step, as `/api/v1/auth/passkeys/login/*` and `/auth/mfa/verify`
 * would. The page's script (passkey-script.ts) asks `…/passkey/options` (JSON, CSRF
 * checked like every POST here) and posts the assertion as a form to `…/passkey`,
 * whose answer is the next page of the flow.
 */
export function interactionPasskeyRoutes(options: InteractionPasskeyOptions): FastifyPluginAsync {
  const { signIn, flow, passkeys } = options;
  return async (app) => {
    const posted = { schema: { hide: true }, preHandler: app.csrfProtection } as const;

    app.post(`${INTERACTION_PREFIX}/:uid/passkey/options`, posted, async (request, reply) => {
      try {
        // A ceremony only for an authorization request that is still going on.
        await signIn.load(raw(request, reply));
        const mfaToken = field(request, 'mfa_token');
        const ceremony =
          mfaToken === undefined
            ? await passkeys.login.options()
            : await passkeys.secondFactor.loginOptions(mfaToken);
        return reply.header('cache-control', 'no-store').send(ceremony);
      } catch (error) {
        return problem(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/passkey`, posted, async (request, reply) => {
      const mfaToken = field(request, 'mfa_token');
      try {
        await signIn.load(raw(request, reply));
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
      try {
        const response = credentialOf(request);
        const context = auditContextOf(request);
        const answered =
          mfaToken === undefined
            ? await passkeys.login.verify(response, context)
            : await options.secondStep.verify(
                { mfa_token: mfaToken, method: 'webauthn', response },
                context,
              );
        return await flow.signedIn(request, reply, answered);
      } catch (error) {
        const refused = pageOfError(error);
        if (!(refused instanceof TesseraError)) return expired(reply, refused);
        if (mfaToken === undefined) {
          return flow.answer(request, reply, { step: 'sign_in' }, { error: refused.detail });
        }
        return flow.secondFactorPage(
          request,
          reply,
          { mfa_token: mfaToken, methods: offeredMethods(request) },
          refused.detail,
        );
      }
    });
  };
}

/**
 * The options endpoint answers its script JSON: a stable code and a message (RFC 9457's
 * members), `sign_in_expired` for a request oidc-provider no longer knows here.
 */
function problem(reply: FastifyReply, error: unknown) {
  const refused =
    error instanceof TesseraError
      ? error
      : new TesseraError(
          IdentityErrors.sign_in_expired,
          'This sign-in has expired or was already used. Go back to the application and start again.',
        );
  return reply
    .code(refused.status)
    .type('application/problem+json')
    .send({ code: refused.code, detail: refused.detail, status: refused.status });
}
