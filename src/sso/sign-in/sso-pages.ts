import { html, type SafeHtml } from '../../http/pages/html.ts';
import type { TestReport } from './sso-flow.ts';

/** The test page: what the IdP said, and what a sign-in would make of it (nobody was signed in). */
export function testReportBody(report: TestReport): SafeHtml {
  const { identity } = report;
  const rows = Object.entries(identity.claims).map(
    ([name, value]) =>
      html`<tr><th scope="row">${name}</th><td><code>${JSON.stringify(value)}</code></td></tr>`,
  );
  const list = (values: readonly string[]) =>
    values.length === 0 ? html`<em>none</em>` : html`${values.join(', ')}`;
  return html`<p role="status" id="sso-test-ok">The identity provider answered and every check passed. Nobody was signed in.</p>
<dl>
<dt>Connection</dt><dd>${report.connection.name} (${report.connection.type})</dd>
<dt>Subject</dt><dd id="sso-test-subject">${identity.subject}</dd>
<dt>Email</dt><dd id="sso-test-email">${identity.email ?? '(none)'} ${identity.emailVerified ? '(verified)' : '(not verified)'}</dd>
<dt>Groups</dt><dd>${list(identity.groups)}</dd>
<dt>Roles a sign-in would give</dt><dd id="sso-test-roles">${list(report.roles)}</dd>
<dt>Teams</dt><dd>${list(report.teams)}</dd>
</dl>
<table><caption>Everything the identity provider sent</caption><tbody>${rows}</tbody></table>`;
}

export function refusedBody(detail: string): SafeHtml {
  return html`<p role="alert">${detail}</p>
<p>Go back to the application and sign in again.</p>`;
}
