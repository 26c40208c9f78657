import type { FastifyPluginAsync } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { html } from '../../http/pages/html.ts';
import { sendPage } from '../../http/pages/pages.ts';
import { TesseraError } from '../../platform/errors.ts';
import { linkToken } from '../email-tokens/link-token.ts';
import { type EmailVerification, VERIFY_EMAIL_PAGE } from './email-verification.ts';

const INVALID_LINK = {
  title: 'This link does not work',
  body: html`<p>The link is unknown, used already, expired, or no longer matches your account's email address. Nothing was changed.</p>
<p>Ask for a new verification email where you signed in.</p>`,
};

/**
 * The page a verification email links to. GET only shows a button (mail scanners
 * open links; opening one must change nothing); the button's POST verifies. The form
 * posts to a relative URL, so it works under any path prefix `server.public_url` has.
 */
export function emailVerificationPage(verification: EmailVerification): FastifyPluginAsync {
  return async (app) => {
    app.get(VERIFY_EMAIL_PAGE, { schema: { hide: true } }, async (request, reply) => {
      const token = linkToken(request.query);
      const link = token === '' ? { ok: false as const } : await verification.check(token);
      if (!link.ok) return sendPage(reply, INVALID_LINK, 400);
      return sendPage(reply, {
        title: 'Confirm your email address',
        body: html`<p>Confirm that <strong>${link.email}</strong> is your email address.</p>
<form method="post" action="verify">
<input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<input type="hidden" name="token" value="${token}">
<button type="submit">Confirm my address</button>
</form>`,
      });
    });

    app.post(
      VERIFY_EMAIL_PAGE,
      { schema: { hide: true }, preHandler: app.csrfProtection },
      async (request, reply) => {
        try {
          const verified = await verification.verify(
            linkToken(request.body),
            auditContextOf(request),
          );
          return sendPage(reply, {
            title: 'Email address confirmed',
            body: html`<p><strong>${verified.email}</strong> is verified. You can close this page.</p>`,
          });
        } catch (error) {
          if (error instanceof TesseraError && error.status < 500) {
            return sendPage(reply, INVALID_LINK, error.status);
          }
          throw error;
        }
      },
    );
  };
}
