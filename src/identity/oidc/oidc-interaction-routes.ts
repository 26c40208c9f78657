import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import type { SafeHtml } from '../../http/pages/html.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AuthService } from '../login/auth-service.ts';
import type { MfaChallenge } from '../mfa/second-step/mfa-challenge.ts';
import type { SecondStep } from '../mfa/second-step/second-step-service.ts';
import type { TokenSet } from '../tokens/issue-token-set.ts';
import { INTERACTION_PREFIX, interactionPath } from './oidc-paths.ts';
import type { NextStep, OidcSignIn } from './oidc-sign-in.ts';
import { type PageBranding, renderHostedPage } from './pages/hosted-page.ts';
import {
  consentBody,
  messageBody,
  secondFactorBody,
  signInBody,
  tenantBody,
} from './pages/sign-in-pages.ts';

export interface InteractionRoutesOptions {
  readonly signIn: OidcSignIn;
  readonly login: AuthService['login'];
  readonly secondStep: Pick<SecondStep, 'verify'>;
  /** A tenant's branding (its email settings), default Tessera's. */
  readonly brandingOf: (tenantId: string) => Promise<PageBranding>;
}

const MAX_FIELD = 1024;

/** A form field: one string, bounded, else undefined. */
function field(request: FastifyRequest, name: string): string | undefined {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length <= MAX_FIELD ? value : undefined;
}

/**
 * The hosted pages of an authorization request (an oidc-provider interaction), at
 * `/oauth2/interaction/{uid}`: sign in, the second factor, the tenant, consent. Each
 * POST is CSRF-checked (pagesPlugin) and needs the interaction's own cookie, which the
 * provider set for this path alone: a form posted from elsewhere, or for another
 * interaction, finds nothing to continue.
 */
export function interactionRoutes(options: InteractionRoutesOptions): FastifyPluginAsync {
  const { signIn } = options;
  return async (app) => {
    const raw = (request: FastifyRequest, reply: FastifyReply) => ({
      req: request.raw,
      res: reply.raw,
    });

    /** Renders a page of the interaction, in the client tenant's look. */
    async function page(
      request: FastifyRequest,
      reply: FastifyReply,
      title: string,
      body: (base: string, csrf: string, clientName: string) => SafeHtml,
      status = 200,
    ) {
      const { interaction, client } = await signIn.load(raw(request, reply));
      // CSP form-action also governs the redirects after a submission: the last one
      // lands on the client's redirect URI.
      for (const uri of client.redirect_uris) {
        try {
          reply.formActionOrigins.push(new URL(uri).origin);
        } catch {
          // A private-use scheme (a native app) has no origin to name.
        }
      }
      const base = interactionPath(interaction.uid);
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          renderHostedPage({
            title,
            body: body(base, reply.generateCsrf(), client.name),
            nonce: reply.cspNonce,
            branding: await options.brandingOf(client.tenant_id),
          }),
        );
    }

    async function answer(
      request: FastifyRequest,
      reply: FastifyReply,
      step: NextStep,
      signInError?: { email?: string; error: string },
    ) {
      switch (step.step) {
        case 'sign_in':
          return page(
            request,
            reply,
            'Sign in',
            (base, csrf, clientName) =>
              signInBody({ base, csrf, clientName, ...(signInError ?? {}) }),
            signInError ? 400 : 200,
          );
        case 'tenant':
          return page(request, reply, 'Choose an organization', (base, csrf, clientName) =>
            tenantBody({ base, csrf, clientName, tenants: step.tenants }),
          );
        case 'consent':
          return page(request, reply, 'Allow access?', (base, csrf, clientName) =>
            consentBody({ base, csrf, clientName, scopes: step.scopes }),
          );
        case 'done':
          reply.hijack();
          return signIn.finish(raw(request, reply), auditContextOf(request));
      }
    }

    /** A sign-in's answer: tokens (its session continues the flow) or a second-factor challenge. */
    async function signedIn(
      request: FastifyRequest,
      reply: FastifyReply,
      answered: TokenSet | MfaChallenge,
    ) {
      if ('mfa_required' in answered) {
        return page(request, reply, 'Two-step verification', (base, csrf) =>
          secondFactorBody({ base, csrf, mfaToken: answered.mfa_token, methods: answered.methods }),
        );
      }
      const step = await signIn.signedIn(raw(request, reply), answered);
      return answer(request, reply, step);
    }

    const pageOfError = (error: unknown) => {
      if (error instanceof TesseraError && error.status < 500) return error;
      // oidc-provider's own errors (no interaction cookie, an expired interaction).
      const status = (error as { statusCode?: number }).statusCode;
      if (typeof status === 'number' && status < 500) return error;
      throw error;
    };

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
          return page(
            request,
            reply,
            'Two-step verification',
            (base, csrf) =>
              secondFactorBody({ base, csrf, mfaToken, methods: [], error: refused.detail }),
            400,
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

    /** The request cannot go on (its cookie missing, expired or spent, or refused for good). */
    function expired(reply: FastifyReply, error: unknown) {
      if (reply.sent || reply.raw.headersSent) return reply;
      const detail =
        error instanceof TesseraError
          ? error.detail
          : 'This sign-in has expired or was already used. Go back to the application and start again.';
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(
          renderHostedPage({
            title: 'This sign-in cannot continue',
            body: messageBody(detail),
            nonce: reply.cspNonce,
            branding: { product_name: 'Tessera', logo_url: '', color: '#3b5bdb' },
          }),
        );
    }
  };
}
