import { html, type SafeHtml } from '../../../http/pages/html.ts';
import type { OfferedConnection } from '../hosted-federation.ts';

/**
 * The single sign-on parts of the hosted pages (issue 20). Every way to an IdP is a
 * link, never a form: CSP form-action also governs where a form's redirects go, and
 * the IdP's origin cannot be known before the address is.
 */

/** Below the password form: the client tenant's IdPs, and the way to find one by address. */
export function ssoLinks(base: string, offered: readonly OfferedConnection[]): SafeHtml {
  const buttons = offered.map(
    (connection) =>
      html`<a class="button secondary" href="${base}/sso/go/${connection.id}">Sign in with ${connection.name}</a>`,
  );
  return html`<div class="sso">${buttons}
<p class="links"><a href="${base}/sso">Sign in with single sign-on (SSO)</a></p></div>`;
}

/** The address form that finds a user's IdP. */
export function ssoEmailBody(view: {
  base: string;
  csrf: string;
  email?: string;
  error?: string;
}): SafeHtml {
  return html`<p>Enter your work email address: we send you to your organization’s sign-in.</p>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : html``}
<form method="post" action="${view.base}/sso">
<input type="hidden" name="_csrf" value="${view.csrf}">
<label for="sso-email">Work email</label>
<input id="sso-email" name="email" type="email" autocomplete="username" required autofocus value="${view.email ?? ''}">
<button type="submit">Continue</button>
</form>
<p class="links"><a href="${view.base}">Back to sign in</a></p>`;
}

/** The address belongs to an IdP: one link on to it. */
export function ssoContinueBody(base: string, connection: OfferedConnection): SafeHtml {
  return html`<p>Your organization signs in with <strong>${connection.name}</strong>.</p>
<a class="button" id="sso-continue" href="${base}/sso/go/${connection.id}" autofocus>Continue to ${connection.name}</a>
<p class="links"><a href="${base}">Back to sign in</a></p>`;
}
