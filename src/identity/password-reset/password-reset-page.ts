import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { html } from '../../http/pages/html.ts';
import { sendPage } from '../../http/pages/pages.ts';
import { TesseraError } from '../../platform/errors.ts';
import { linkToken } from '../email-tokens/link-token.ts';
import { IdentityErrors } from '../errors.ts';
import { PASSWORD_MAX_LENGTH } from '../login/passwords.ts';
import { RESET_PASSWORD_PAGE } from './forgot-password.ts';
import type { PasswordResetByEmail } from './password-reset.ts';

const INVALID_LINK = {
  title: 'This link does not work',
  body: html`<p>The link is unknown, used already, expired, or no longer matches your account. Nothing was changed.</p>
<p>Ask for a new password reset email where you sign in.</p>`,
};

/**
 * The page a reset email links to. GET shows the new-password form and changes
 * nothing (mail scanners open links); its POST resets. A password the policy refuses
 * shows the form again with the problem, and the link still works. The form posts to a
 * relative URL, so it works under any path prefix `server.public_url` has.
 */
export function passwordResetPage(passwordReset: PasswordResetByEmail): FastifyPluginAsync {
  const min = passwordReset.passwordMinLength;

  function form(reply: FastifyReply, token: string, email: string, problems: readonly string[]) {
    const invalid = problems.length > 0;
    const describedBy = invalid ? 'password-rules password-problems' : 'password-rules';
    return sendPage(
      reply,
      {
        title: 'Choose a new password',
        body: html`<p>Choose a new password for <strong>${email}</strong>. Every device signed in to the account will be signed out.</p>
<form method="post" action="reset">
<input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<input type="hidden" name="token" value="${token}">
<input type="email" name="username" autocomplete="username" value="${email}" readonly hidden>
<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" required minlength="${min}" maxlength="${PASSWORD_MAX_LENGTH}" aria-describedby="${describedBy}"${invalid ? html` aria-invalid="true"` : ''}>
<p id="password-rules">At least ${min} characters; spaces and any characters are welcome.</p>
${invalid ? html`<div id="password-problems" class="error" role="alert"><p>This password cannot be used: it ${problems.join('; ')}.</p></div>` : ''}
<button type="submit">Set my new password</button>
</form>`,
      },
      invalid ? 400 : 200,
    );
  }

  return async (app) => {
    app.get(RESET_PASSWORD_PAGE, { schema: { hide: true } }, async (request, reply) => {
      const token = linkToken(request.query);
      const link = token === '' ? { ok: false as const } : await passwordReset.check(token);
      if (!link.ok) return sendPage(reply, INVALID_LINK, 400);
      return form(reply, token, link.email, []);
    });

    app.post(
      RESET_PASSWORD_PAGE,
      { schema: { hide: true }, preHandler: app.csrfProtection },
      async (request, reply) => {
        const token = linkToken(request.body);
        const typed = (request.body as Record<string, unknown> | undefined)?.new_password;
        const newPassword = typeof typed === 'string' ? typed : '';
        try {
          await passwordReset.reset({ token, new_password: newPassword }, auditContextOf(request));
        } catch (error) {
          if (!(error instanceof TesseraError) || error.status >= 500) throw error;
          if (error.code === IdentityErrors.weak_password) {
            const link = await passwordReset.check(token);
            if (link.ok) {
              return form(reply, token, link.email, error.errors?.map((e) => e.message) ?? []);
            }
          }
          return sendPage(reply, INVALID_LINK, error.status);
        }
        return sendPage(reply, {
          title: 'Your password was changed',
          body: html`<p>Sign in with your new password. Every device that was signed in has been signed out.</p>`,
        });
      },
    );
  };
}
