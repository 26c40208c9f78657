import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Value } from 'typebox/value';
import { auditContextOf } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import { MAX_EMAIL_TOKEN_LENGTH } from '../email-tokens/email-token-invalid.ts';
import { IdentityErrors } from '../errors.ts';
import { Email } from '../login/auth-routes.ts';
import type { MagicLinkService } from '../magic-links/magic-link-service.ts';
import type { PasswordResetByEmail } from '../password-reset/password-reset.ts';
import { expired, field, type InteractionFlow, pageOfError, raw } from './interaction-flow.ts';
import { INTERACTION_PREFIX, interactionPath } from './oidc-paths.ts';
import type { OidcSignIn } from './oidc-sign-in.ts';
import {
  checkEmailBody,
  emailRequestBody,
  invalidLinkBody,
  magicLinkConfirmBody,
} from './pages/method-pages.ts';

export interface InteractionEmailOptions {
  readonly signIn: OidcSignIn;
  readonly flow: InteractionFlow;
  readonly magicLinks: Pick<MagicLinkService, 'request' | 'preview' | 'use'>;
  readonly passwordReset: Pick<PasswordResetByEmail, 'forgot'>;
}

/** Longer than any address the JSON API accepts (its `Email`): not read further. */
const MAX_EMAIL = 1024;

const MAGIC_LINK_REQUEST = {
  title: 'Email me a sign-in link',
  action: '/magic-link/request',
  intro: 'Enter your email address: we send you a link that signs you in here.',
  button: 'Send the link',
} as const;

const FORGOT_PASSWORD = {
  title: 'Forgot your password?',
  action: '/password/forgot',
  intro: 'Enter your email address: we send you a link to choose a new password.',
  button: 'Send the link',
} as const;

type EmailForm = typeof MAGIC_LINK_REQUEST | typeof FORGOT_PASSWORD;

function tokenIn(fields: unknown): string | undefined {
  const token = (fields as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token !== '' && token.length <= MAX_EMAIL_TOKEN_LENGTH
    ? token
    : undefined;
}

/**
 * The email ways in of the hosted pages: a magic link that brings the person back
 * into this same authorization request, and a forgotten password (the reset email's
 * link is the existing reset page; the person then signs in here). Both requests
 * answer alike whatever the address, as the JSON API does. The link's GET only reads
 * its token (mail scanners prefetch links); its button's POST uses it. Both need this
 * browser's interaction cookie: a link opened elsewhere finds no sign-in to continue,
 * and is not spent.
 */
export function interactionEmailRoutes(options: InteractionEmailOptions): FastifyPluginAsync {
  const { signIn, flow, magicLinks } = options;
  return async (app) => {
    const routes = { schema: { hide: true } } as const;
    const posted = { schema: { hide: true }, preHandler: app.csrfProtection } as const;

    function form(
      request: FastifyRequest,
      reply: FastifyReply,
      shown: EmailForm,
      refusal?: { email: string; error: string; status: number },
    ) {
      return flow.page(
        request,
        reply,
        shown.title,
        (base, csrf) =>
          emailRequestBody({
            base,
            csrf,
            ...shown,
            ...(refusal ? { email: refusal.email, error: refusal.error } : {}),
          }),
        refusal?.status ?? 200,
      );
    }

    /** A request's POST: the email checked like the API's, the request, then "check your email". */
    async function requested(
      request: FastifyRequest,
      reply: FastifyReply,
      shown: EmailForm,
      send: (email: string, tenantId: string | undefined) => Promise<void>,
      what: string,
    ) {
      const email = (field(request, 'email', MAX_EMAIL) ?? '').trim();
      try {
        const { interaction, client } = await signIn.load(raw(request, reply));
        // The JSON API's rule, so an address is refused (or not) alike either way.
        if (!Value.Check(Email, email)) {
          return await form(request, reply, shown, {
            email,
            error: 'Enter your email address, such as name@example.com.',
            status: 400,
          });
        }
        await send(email, signIn.requestedTenant(interaction, client));
        return await flow.page(request, reply, 'Check your email', (base) =>
          checkEmailBody(base, what),
        );
      } catch (error) {
        const refused = pageOfError(error);
        if (!(refused instanceof TesseraError)) return expired(reply, refused);
        // Only what says nothing of the account: a malformed address, email not configured.
        return form(request, reply, shown, {
          email,
          error: refused.detail,
          status: refused.status,
        });
      }
    }

    for (const [shown, post] of [
      [MAGIC_LINK_REQUEST, magicLinkRequested],
      [FORGOT_PASSWORD, resetRequested],
    ] as const) {
      app.get(`${INTERACTION_PREFIX}/:uid${shown.action}`, routes, async (request, reply) => {
        try {
          return await form(request, reply, shown);
        } catch (error) {
          return expired(reply, pageOfError(error));
        }
      });
      app.post(`${INTERACTION_PREFIX}/:uid${shown.action}`, posted, post);
    }

    async function magicLinkRequested(request: FastifyRequest, reply: FastifyReply) {
      const uid = (request.params as { uid: string }).uid;
      return requested(
        request,
        reply,
        MAGIC_LINK_REQUEST,
        (email, tenantId) =>
          magicLinks.request({ email, tenant_id: tenantId }, auditContextOf(request), {
            continuePath: `${interactionPath(uid)}/magic-link`,
            firstTenant: true,
          }),
        'a sign-in link',
      );
    }

    async function resetRequested(request: FastifyRequest, reply: FastifyReply) {
      return requested(
        request,
        reply,
        FORGOT_PASSWORD,
        (email, tenantId) =>
          options.passwordReset.forgot({ email, tenant_id: tenantId }, auditContextOf(request)),
        'a link to choose a new password',
      );
    }

    function invalidLink(request: FastifyRequest, reply: FastifyReply) {
      return flow.page(
        request,
        reply,
        'This sign-in link does not work',
        (base) => invalidLinkBody(base),
        400,
      );
    }

    app.get(`${INTERACTION_PREFIX}/:uid/magic-link`, routes, async (request, reply) => {
      try {
        await signIn.load(raw(request, reply));
        const token = tokenIn(request.query);
        const preview = token === undefined ? undefined : await magicLinks.preview(token);
        if (!token || !preview?.ok) return await invalidLink(request, reply);
        return await flow.page(request, reply, 'Sign in', (base, csrf, clientName) =>
          magicLinkConfirmBody({ base, csrf, token, email: preview.email, clientName }),
        );
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/magic-link`, posted, async (request, reply) => {
      try {
        // The interaction first: a link opened in another browser is not spent.
        await signIn.load(raw(request, reply));
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
      try {
        const token = tokenIn(request.body);
        if (token === undefined) return await invalidLink(request, reply);
        const { tokens } = await magicLinks.use(token, auditContextOf(request));
        return await flow.signedIn(request, reply, tokens);
      } catch (error) {
        const refused = pageOfError(error);
        if (!(refused instanceof TesseraError)) return expired(reply, refused);
        if (refused.code === IdentityErrors.email_token_invalid) return invalidLink(request, reply);
        return flow.answer(
          request,
          reply,
          { step: 'sign_in' },
          { error: refused.detail, status: refused.status },
        );
      }
    });
  };
}
