import { PERMISSION_DESCRIPTIONS, type Permission } from '../../../access/permissions.ts';
import { html, type SafeHtml } from '../../../http/pages/html.ts';
import type { OfferedConnection } from '../hosted-federation.ts';
import { emailLinks, type OtherMethods, passkeySection } from './method-pages.ts';
import { ssoLinks } from './sso-pages.ts';

/** The bodies of the hosted pages of one authorization request (`base`: its path). */

export function signInBody(view: {
  base: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
  /** The other ways in this server offers (method-pages.ts). */
  methods?: OtherMethods;
  /** Single sign-on, when this server offers it: the client tenant's IdPs (maybe none). */
  sso?: readonly OfferedConnection[];
}): SafeHtml {
  const passkey = view.methods?.passkey
    ? passkeySection({ base: view.base, csrf: view.csrf, label: 'Sign in with a passkey' })
    : html``;
  const email = view.methods?.email ? emailLinks(view.base) : html``;
  const sso = view.sso ? ssoLinks(view.base, view.sso) : html``;
  return html`<p>to continue to <strong>${view.clientName}</strong></p>
${errorLine(view.error)}
<form method="post" action="${view.base}/password">
<input type="hidden" name="_csrf" value="${view.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${view.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${passkey}
${sso}
${email}
${cancelForm(view.base, view.csrf)}`;
}

export function secondFactorBody(view: {
  base: string;
  csrf: string;
  mfaToken: string;
  methods: readonly string[];
  error?: string;
}): SafeHtml {
  const recovery = view.methods.includes('recovery_code')
    ? html`<p class="muted">No access to your app? Enter one of your recovery codes instead.</p>`
    : html``;
  // The token is the form's: a passkey's options and proof are bound to it.
  const passkey = view.methods.includes('webauthn')
    ? passkeySection({
        base: view.base,
        csrf: view.csrf,
        mfaToken: view.mfaToken,
        methods: view.methods,
        label: view.methods.includes('totp') ? 'Use a passkey instead' : 'Use your passkey',
      })
    : html``;
  const intro =
    view.methods.includes('webauthn') && !view.methods.includes('totp')
      ? 'Confirm with your passkey, or enter one of your recovery codes.'
      : 'Enter the code your authenticator app shows.';
  // `methods` only decides what the page shows again after a wrong code.
  return html`<p>${intro}</p>
${errorLine(view.error)}
<form method="post" action="${view.base}/mfa">
<input type="hidden" name="_csrf" value="${view.csrf}">
<input type="hidden" name="mfa_token" value="${view.mfaToken}">
<input type="hidden" name="methods" value="${view.methods.join(' ')}">
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<button type="submit">Verify</button>
</form>
${recovery}
${passkey}
${cancelForm(view.base, view.csrf)}`;
}

export function tenantBody(view: {
  base: string;
  csrf: string;
  clientName: string;
  tenants: readonly { id: string; name: string }[];
}): SafeHtml {
  const choices = view.tenants.map(
    (tenant) =>
      html`<li><button type="submit" name="tenant_id" value="${tenant.id}">${tenant.name}</button></li>`,
  );
  return html`<p>Which organization do you want to use with <strong>${view.clientName}</strong>?</p>
<form method="post" action="${view.base}/tenant">
<input type="hidden" name="_csrf" value="${view.csrf}">
<ul class="choices">${choices}</ul>
</form>
${cancelForm(view.base, view.csrf)}`;
}

export function consentBody(view: {
  base: string;
  csrf: string;
  clientName: string;
  scopes: readonly string[];
}): SafeHtml {
  const items = view.scopes.map((scope) => html`<li>${describeScope(scope)}</li>`);
  return html`<p><strong>${view.clientName}</strong> asks to:</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${view.base}/consent">
<input type="hidden" name="_csrf" value="${view.csrf}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`;
}

export function messageBody(message: string, detail?: string): SafeHtml {
  return html`<p role="alert">${message}</p>${detail ? html`<p class="muted">${detail}</p>` : html``}`;
}

const OPENID_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'Know who you are.',
  profile: 'See your name.',
  email: 'See your email address.',
  offline_access: 'Stay signed in when you are not using it.',
};

function describeScope(scope: string): string {
  return OPENID_DESCRIPTIONS[scope] ?? PERMISSION_DESCRIPTIONS[scope as Permission] ?? scope;
}

function errorLine(error: string | undefined): SafeHtml {
  return error ? html`<p class="error" role="alert">${error}</p>` : html``;
}

function cancelForm(base: string, csrf: string): SafeHtml {
  return html`<form method="post" action="${base}/abort">
<input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" class="secondary">Cancel</button>
</form>`;
}
