import assert from 'node:assert/strict';
import { samlTestCertificate } from './saml-idp-response.ts';
import type { Credential, Reply } from './tenancy-fixture.ts';

type Send = (method: string, url: string, as: Credential, payload?: unknown) => Promise<Reply>;

/**
 * An enabled SAML connection of the tenant whose admin `as` is, made through the real
 * API (no IdP needs to answer: a SAML connection is its entity id, URL and certificate).
 */
export async function addSamlConnection(
  send: Send,
  as: Credential,
  tenant: string,
): Promise<string> {
  const created = await send('POST', '/sso/connections', as, {
    type: 'saml',
    name: `${tenant} IdP`,
    saml: {
      idp_entity_id: `https://idp.${tenant}.test/saml`,
      sso_url: `https://idp.${tenant}.test/sso`,
      certificates: [samlTestCertificate('idp')],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

/** A connection, then SSO enforced with these break-glass administrators. */
export async function enforceSso(
  send: Send,
  as: Credential,
  tenant: string,
  breakGlass: readonly string[],
): Promise<void> {
  await addSamlConnection(send, as, tenant);
  const changed = await send('PATCH', `/tenants/${tenant}/sign-in-settings`, as, {
    sso_enforced: true,
    sso_break_glass: breakGlass,
  });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
}
