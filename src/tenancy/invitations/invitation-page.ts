import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { html } from '../../http/pages/html.ts';
import { sendPage } from '../../http/pages/pages.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import { isTesseraError, type TesseraError } from '../../platform/errors.ts';
import { HttpErrors } from '../../platform/http-errors.ts';
import { TenancyErrors } from '../errors.ts';
import { ACCEPT_PATH } from './invitation-email.ts';
import type { InvitationLinkService, InvitationPreview } from './invitation-link-service.ts';

export interface InvitationPageOptions {
  readonly links: InvitationLinkService;
  /** `auth.password_min_length`, for the form's own hint. */
  readonly passwordMinLength: number;
}

/** What the form posts (urlencoded); anything else is ignored. */
interface FormBody {
  readonly token?: unknown;
  readonly name?: unknown;
  readonly password?: unknown;
}

/** Refusals the form answers by showing itself again, with the problem. */
const FORM_PROBLEMS = new Set<string>([IdentityErrors.weak_password, HttpErrors.validation_failed]);
const LOGIN_REQUIRED: string = TenancyErrors.invitation_login_required;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, 1024) : undefined;

/**
 * `/auth/invitations/accept`, the page the invitation email links to (issue 17). GET
 * shows the invitation and, for an account the invitation created, a form to choose
 * its name and password; it changes nothing, since mail scanners open links. An
 * existing account is told to sign in to the application and accept there (its owner
 * proves who they are with their password, which this page never asks for). POST (the
 * form, CSRF-checked) accepts: a welcome page, the form again with the password
 * policy's problem, or a page saying why not.
 */
export function invitationPage(options: InvitationPageOptions): FastifyPluginAsync {
  const { links, passwordMinLength } = options;

  function sendForm(
    reply: FastifyReply,
    token: string,
    invitation: InvitationPreview,
    problem?: { message: string; name?: string | undefined },
  ): FastifyReply {
    if (!invitation.needs_password) return sendSignInFirst(reply, invitation, 200);
    const describedBy = problem ? 'password-hint password-error' : 'password-hint';
    return sendPage(
      reply,
      {
        title: `Join ${invitation.tenant_name}`,
        body: html`<p>You are invited to join <strong>${invitation.tenant_name}</strong> as
${invitation.email}. Choose your name and a password to create your account.</p>
${problem ? html`<p class="error" id="password-error" role="alert">${problem.message}</p>` : ''}
<form method="post" action="${ACCEPT_PATH}">
<input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<input type="hidden" name="token" value="${token}">
<label for="name">Your name</label>
<input type="text" id="name" name="name" autocomplete="name" maxlength="200" value="${problem?.name ?? ''}">
<label for="password">New password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required minlength="${passwordMinLength}" maxlength="256" aria-describedby="${describedBy}"${problem ? html` aria-invalid="true"` : ''}>
<p id="password-hint">At least ${passwordMinLength} characters.</p>
<button type="submit">Accept and create my account</button>
</form>`,
      },
      problem ? 400 : 200,
    );
  }

  function sendSignInFirst(
    reply: FastifyReply,
    invitation: Pick<InvitationPreview, 'tenant_name' | 'email'>,
    status: number,
  ): FastifyReply {
    return sendPage(
      reply,
      {
        title: `Join ${invitation.tenant_name}`,
        body: html`<p>You are invited to join <strong>${invitation.tenant_name}</strong>.</p>
<p>${invitation.email} already has an account. Sign in to the application with it and accept
the invitation there.</p>`,
      },
      status,
    );
  }

  function sendProblem(reply: FastifyReply, error: TesseraError): FastifyReply {
    return sendPage(
      reply,
      {
        title: 'This invitation cannot be accepted',
        body: html`<p role="alert">${error.detail}</p>
<p>Ask whoever invited you to send a new invitation if you still want to join.</p>`,
      },
      error.status,
    );
  }

  /**
   * A refusal as a page: the form again for the password policy's problem (nothing was
   * used up, so the link still works), the sign-in advice for an existing account, or
   * the reason. Anything else (a bug) goes on to the error handler.
   */
  async function sendRefusal(
    reply: FastifyReply,
    error: unknown,
    form: { token: string; name?: string | undefined },
  ): Promise<FastifyReply> {
    if (!isTesseraError(error) || error.status >= 500) throw error;
    const again = FORM_PROBLEMS.has(error.code) || error.code === LOGIN_REQUIRED;
    const invitation = again ? await links.preview(form.token).catch(() => undefined) : undefined;
    if (!invitation) return sendProblem(reply, error);
    if (error.code === LOGIN_REQUIRED) return sendSignInFirst(reply, invitation, error.status);
    return sendForm(reply, form.token, invitation, { message: error.detail, name: form.name });
  }

  return async (app) => {
    // Pages are for people, not API clients: not in the OpenAPI document.
    app.get(ACCEPT_PATH, { schema: { hide: true } }, async (request, reply) => {
      const token = text((request.query as Record<string, unknown>).token) ?? '';
      try {
        return sendForm(reply, token, await links.preview(token));
      } catch (error) {
        return sendRefusal(reply, error, { token: '' });
      }
    });

    app.post(
      ACCEPT_PATH,
      { schema: { hide: true }, preHandler: app.csrfProtection },
      async (request, reply) => {
        const body = (request.body ?? {}) as FormBody;
        const token = text(body.token) ?? '';
        const name = text(body.name);
        try {
          const accepted = await links.accept(
            { token, password: text(body.password), name },
            { principal: null, audit: auditContextOf(request) },
            { session: false },
          );
          return sendPage(reply, {
            title: `Welcome to ${accepted.tenant_name}`,
            body: html`<p role="status">You joined <strong>${accepted.tenant_name}</strong>.</p>
<p>Your account is ready: sign in to the application with ${accepted.email} and your new
password.</p>`,
          });
        } catch (error) {
          return sendRefusal(reply, error, { token, name });
        }
      },
    );
  };
}
