import { html, type SafeHtml } from '../../../http/pages/html.ts';

/**
 * The bodies of the hosted pages of the other sign-in methods (`base`: the
 * authorization request's path): a passkey, a magic link, a forgotten password, and
 * the TOTP enrollment a tenant's MFA policy asks for.
 */

/** Which other ways in the sign-in page offers (passkeys and email need their config). */
export interface OtherMethods {
  readonly passkey: boolean;
  readonly email: boolean;
}

/**
 * The passkey button and the form its script submits (passkey-script.ts). `mfaToken`:
 * a passkey as the second step of a sign-in, else the usernameless sign-in.
 */
export function passkeySection(view: {
  base: string;
  csrf: string;
  mfaToken?: string;
  methods?: readonly string[];
  label: string;
}): SafeHtml {
  const mfa =
    view.mfaToken === undefined
      ? html``
      : html`<input type="hidden" name="mfa_token" value="${view.mfaToken}">
<input type="hidden" name="methods" value="${(view.methods ?? []).join(' ')}">`;
  return html`<form id="passkey-form" method="post" action="${view.base}/passkey">
<input type="hidden" name="_csrf" value="${view.csrf}">
${mfa}
<input type="hidden" name="credential" value="">
</form>
<button type="button" id="passkey-button" class="secondary" data-options="${view.base}/passkey/options" hidden>${view.label}</button>
<p id="passkey-status" class="muted" role="status" aria-live="polite"></p>`;
}

/** Links to the email-based ways in, below the password form. */
export function emailLinks(base: string): SafeHtml {
  return html`<p class="links"><a href="${base}/magic-link/request">Email me a sign-in link</a></p>
<p><a href="${base}/password/forgot">Forgot your password?</a></p>`;
}

/** One email field and its submit button: the magic link's and the password reset's request. */
export function emailRequestBody(view: {
  base: string;
  csrf: string;
  action: string;
  intro: string;
  button: string;
  email?: string;
  error?: string;
}): SafeHtml {
  return html`<p>${view.intro}</p>
${errorLine(view.error)}
<form method="post" action="${view.base}${view.action}">
<input type="hidden" name="_csrf" value="${view.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${view.email ?? ''}">
<button type="submit">${view.button}</button>
</form>
${backLink(view.base)}`;
}

/** After a request: the same words whether or not an account has the address. */
export function checkEmailBody(base: string, what: string): SafeHtml {
  return html`<p role="status">If this address belongs to an account that may sign in here, ${what} is on its way. Check your email.</p>
<p class="muted">Open the link in this browser. The link works once and expires soon.</p>
${backLink(base)}`;
}

/** The magic link's page: a GET shows this button, only its POST uses the token. */
export function magicLinkConfirmBody(view: {
  base: string;
  csrf: string;
  token: string;
  email: string;
  clientName: string;
}): SafeHtml {
  return html`<p>Sign in as <strong>${view.email}</strong> to continue to <strong>${view.clientName}</strong>.</p>
<form method="post" action="${view.base}/magic-link">
<input type="hidden" name="_csrf" value="${view.csrf}">
<input type="hidden" name="token" value="${view.token}">
<button type="submit" autofocus>Sign in</button>
</form>
<p class="muted">The link works once. If you did not ask to sign in, close this page.</p>`;
}

export function invalidLinkBody(base: string): SafeHtml {
  return html`<p class="error" role="alert">This sign-in link does not work: it may have been used already, have expired, or been replaced by a newer one.</p>
<p><a href="${base}/magic-link/request">Email me a new link</a></p>
${backLink(base)}`;
}

/**
 * TOTP enrollment: the QR code (a data: image), the secret for typing, a code field.
 * Without `key` (a wrong code): the same pending secret, so only the field again, and
 * a way to start over with a new key.
 */
export function enrollTotpBody(view: {
  base: string;
  csrf: string;
  key?: { qrCode: string; secret: string };
  error?: string;
}): SafeHtml {
  const key = view.key
    ? html`<p>Your organization requires two-step verification. Scan this code with an authenticator app, then enter the code the app shows.</p>
<img class="qr" src="${view.key.qrCode}" alt="QR code of your authenticator app setup key">
<p class="muted">Cannot scan? Enter this key in the app: <code id="totp-secret">${view.key.secret}</code></p>`
    : html`<p>Enter the code your authenticator app shows now for the key you added.</p>`;
  const restart = view.key
    ? html``
    : html`<p class="links"><a href="${view.base}">Start again with a new key</a></p>`;
  return html`${errorLine(view.error)}
${key}
<form method="post" action="${view.base}/enroll">
<input type="hidden" name="_csrf" value="${view.csrf}">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<button type="submit">Turn on two-step verification</button>
</form>
${restart}`;
}

/** The recovery codes, shown this once, and the way on. */
export function recoveryCodesBody(base: string, codes: readonly string[]): SafeHtml {
  const items = codes.map((code) => html`<li>${code}</li>`);
  return html`<p role="status">Two-step verification is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your authenticator app. They are shown only now.</p>
<ul class="codes" aria-label="Recovery codes">${items}</ul>
<a class="button" href="${base}" autofocus>Continue</a>`;
}

function backLink(base: string): SafeHtml {
  return html`<p class="links"><a href="${base}">Back to sign in</a></p>`;
}

function errorLine(error: string | undefined): SafeHtml {
  return error ? html`<p class="error" role="alert">${error}</p>` : html``;
}
