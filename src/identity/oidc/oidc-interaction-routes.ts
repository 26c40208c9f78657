import type { FastifyPluginAsync } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AuthService } from '../login/auth-service.ts';
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

export interface InteractionRoutesOptions {
  readonly signIn: OidcSignIn;
  /** The pages and steps the hosted sign-in's routes share (interaction-flow.ts). */
  readonly flow: InteractionFlow;
  readonly login: AuthService['login'];
  readonly secondStep: Pick<SecondStep, 'verify'>;
}

/**
 * The hosted pages of an authorization request (an oidc-provider interaction), at
 * `/oauth2/interaction/{uid}`: sign in, the second factor, the tenant, consent. Each
 * POST is CSRF-checked (pagesPlugin) and needs the interaction's own cookie, which the
 * provider set for this path alone: a form posted from elsewhere, or for another
 * interaction, finds nothing to continue. The other sign-in methods' routes are in
 * interaction-method-routes.ts.
 */
export function interactionRoutes(options: InteractionRoutesOptions): FastifyPluginAsync {
  const { signIn, flow } = options;
  const { answer, signedIn } = flow;
  return async (app) => {
    const routes = { schema: { hide: true } } as const;
    const posted = { schema: { hide: true }, preHandler: app.csrfProtection } as const;

    app.get(`${INTERACTION_PREFIX}/:uid`, routes, async (request, reply) => {
      try {
        return await answer(
          request,
          reply,
          await signIn.next(raw(request, reply), auditContextOf(request)),
        );
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/password`, posted, async (request, reply) => {
      const email = field(request, 'email') ?? '';
      const password = field(request, 'password') ?? '';
      try {
        const { interaction, client } = await signIn.load(raw(request, reply));
        const answered = await options.login(
          { email, password, tenant_id: signIn.requestedTenant(interaction, client) },
          auditContextOf(request),
          { firstTenant: true },
        );
        return await signedIn(request, reply, answered);
      } catch (error) {
        const refused = pageOfError(error);
        if (refused instanceof TesseraError) {
          return answer(request, reply, { step: 'sign_in' }, { email, error: refused.detail });
        }
        return expired(reply, refused);
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/mfa`, posted, async (request, reply) => {
      const mfaToken = field(request, 'mfa_token') ?? '';
      const code = (field(request, 'code') ?? '').replaceAll(/\s/g, '');
      try {
        const tokens = await options.secondStep.verify(
          { mfa_token: mfaToken, method: /^\d{6}$/.test(code) ? 'totp' : 'recovery_code', code },
          auditContextOf(request),
        );
        return await signedIn(request, reply, tokens);
      } catch (error) {
        const refused = pageOfError(error);
        if (refused instanceof TesseraError) {
          return flow.secondFactorPage(
            request,
            reply,
            { mfa_token: mfaToken, methods: offeredMethods(request) },
            refused.detail,
          );
        }
        return expired(reply, refused);
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/tenant`, posted, async (request, reply) => {
      try {
        const tenantId = field(request, 'tenant_id') ?? '';
        return await answer(
          request,
          reply,
          await signIn.chooseTenant(raw(request, reply), tenantId, auditContextOf(request)),
        );
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/consent`, posted, async (request, reply) => {
      try {
        if (field(request, 'decision') !== 'allow') {
          reply.hijack();
          return await signIn.abort(raw(request, reply), 'The user declined.');
        }
        return await answer(request, reply, await signIn.consent(raw(request, reply)));
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/abort`, posted, async (request, reply) => {
      try {
        reply.hijack();
        return await signIn.abort(raw(request, reply), 'The user cancelled the sign-in.');
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });
  };
}
