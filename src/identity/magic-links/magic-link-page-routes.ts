import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { html } from '../../http/pages/html.ts';
import { sendPage } from '../../http/pages/pages.ts';
import { TesseraError } from '../../platform/errors.ts';
import { IdentityErrors } from '../errors.ts';
import type { MagicLinkService } from './magic-link-service.ts';
import { MAGIC_LINK_PAGE } from './request-magic-link.ts';

/** Longer than any token we issue: anything longer is not one, and costs no query. */
const MAX_TOKEN_LENGTH = 512;

/** The `token` of a query or form body: one string, else nothing. */
function tokenIn(fields: unknown): string | undefined {
  const token = (fields as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH
    ? token
    : undefined;
}

function invalidLinkPage(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    {
      title: 'This sign-in link does not work',
      body: html`<p role="alert">It may have been used already, have expired, or been replaced by a newer one.</p>
<p>Ask for a new sign-in link from the application.</p>`,
    },
    400,
  );
}

function fromApplicationPage(reply: FastifyReply, status: number): FastifyReply {
  return sendPage(
    reply,
    {
      title: 'Open this link from the application',
      body: html`<p>This sign-in link has nowhere to take you from here: open it from the application you asked for it in, or ask for a new link there.</p>`,
    },
    status,
  );
}

/**
 * `/auth/magic-link`, the page a magic link opens. GET only reads the token (mail
 * scanners prefetch links; they must not use it up) and shows one Sign in button; the
 * button's POST (CSRF-protected) uses the link and answers 303 to the redirect URI with
 * the tokens in the fragment, which browsers never send to a server, so they reach the
 * application's page and no log on the way.
 */
export function magicLinkPage(magicLinks: MagicLinkService): FastifyPluginAsync {
  return async (app) => {
    app.get(MAGIC_LINK_PAGE, { schema: { hide: true } }, async (request, reply) => {
      const token = tokenIn(request.query);
      const preview = token === undefined ? undefined : await magicLinks.preview(token);
      if (!preview?.ok) return invalidLinkPage(reply);
      if (preview.redirect === undefined) return fromApplicationPage(reply, 200);
      // The form's answer redirects there, which the page's CSP must allow.
      reply.formActionOrigins.push(new URL(preview.redirect).origin);
      return sendPage(reply, {
        title: 'Sign in',
        body: html`<p>Sign in to <strong>${preview.tenant_name}</strong> as <strong>${preview.email}</strong>.</p>
<form method="post" action="magic-link">
<input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<input type="hidden" name="token" value="${token}">
<button type="submit">Sign in</button>
</form>
<p>The link works once. If you did not ask to sign in, close this page.</p>`,
      });
    });

    app.post(
      MAGIC_LINK_PAGE,
      { schema: { hide: true }, preHandler: app.csrfProtection },
      async (request, reply) => {
        const token = tokenIn(request.body);
        if (token === undefined) return invalidLinkPage(reply);
        try {
          const { tokens, redirect } = await magicLinks.use(token, auditContextOf(request), {
            redirect: 'required',
          });
          // An account with a second factor: the application completes the sign-in
          // with POST /auth/mfa/verify, so it gets the mfa_token the same way.
          const fragment = new URLSearchParams(
            'mfa_token' in tokens
              ? {
                  mfa_required: 'true',
                  mfa_token: tokens.mfa_token,
                  methods: tokens.methods.join(' '),
                  expires_in: String(tokens.expires_in),
                }
              : {
                  access_token: tokens.access_token,
                  refresh_token: tokens.refresh_token,
                  token_type: tokens.token_type,
                  expires_in: String(tokens.expires_in),
                  tenant_id: tokens.tenant_id,
                },
          );
          return reply.code(303).header('location', `${redirect}#${fragment}`).send();
        } catch (error) {
          if (!(error instanceof TesseraError) || error.status >= 500) throw error;
          if (error.code === IdentityErrors.email_token_invalid) return invalidLinkPage(reply);
          if (error.code === IdentityErrors.redirect_uri_not_allowed) {
            return fromApplicationPage(reply, error.status);
          }
          return sendPage(
            reply,
            {
              title: 'You cannot sign in with this link',
              body: html`<p role="alert">${error.detail}</p>`,
            },
            error.status,
          );
        }
      },
    );
  };
}
