import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import type { Config } from '../../src/config/schema.ts';
import { registeredErrorCodes } from '../../src/platform/errors.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import { unescapeHtml } from './saml-federation-fixture.ts';
import { type BuildResponseOptions, type SamlIdp, startSamlIdp } from './saml-idp.ts';
import { APP_URL, type SsoWorld, ssoWorld } from './sso-fixture.ts';

/**
 * Single sign-on through the SAML test IdP over HTTP (no browser): its steps for tests.
 * The IdP is a real HTTP server signing real XML; Tessera is driven with `browse`, which
 * keeps each browser's cookies in its jar.
 */

export interface SamlWorld {
  readonly idp: SamlIdp;
  readonly sso: SsoWorld;
  close(): Promise<void>;
}

/**
 * One Tessera and one test IdP for a whole file (a `describe`'s before/after): tests
 * keep apart by using tenants, domains and connections of their own.
 */
export async function samlWorld(
  engine: Engine,
  config: DeepPartial<Config> = {},
): Promise<SamlWorld> {
  const cleanups: (() => unknown)[] = [];
  const scope = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;
  const idp = await startSamlIdp();
  cleanups.push(() => idp.close());
  const sso = await ssoWorld(scope, engine, config);
  return {
    idp,
    sso,
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

export const GROUP_MAPPING = {
  default_roles: ['viewer'],
  groups: [{ group: 'engineering', roles: ['developer'] }],
};

/**
 * A SAML connection of `tenant` through the API (claiming `{tenant}.example`), from the
 * IdP's entity id, SSO URL and certificate, or from its metadata document.
 */
export async function connectSaml(
  sso: SsoWorld,
  idp: SamlIdp,
  tenant: string,
  options: { from?: 'fields' | 'metadata'; extra?: object } = {},
) {
  const saml =
    options.from === 'metadata'
      ? { metadata_xml: idp.metadata() }
      : { idp_entity_id: idp.entityId, sso_url: idp.ssoUrl, certificates: [idp.certificate] };
  const created = await sso.api('POST', '/api/v1/sso/connections', {
    tenant,
    body: {
      type: 'saml',
      name: `${tenant} IdP`,
      domains: [`${tenant}.example`],
      saml,
      mapping: GROUP_MAPPING,
      ...options.extra,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json;
}

export async function patchConnection(sso: SsoWorld, tenant: string, id: string, body: object) {
  const changed = await sso.api('PATCH', `/api/v1/sso/connections/${id}`, { tenant, body });
  assert.equal(changed.status, 200, JSON.stringify(changed.json));
  return changed.json;
}

/** What the browser carried to the IdP: the decoded AuthnRequest and the RelayState. */
export interface Begun {
  readonly location: string;
  readonly relayState: string;
  readonly request: { readonly id: string; readonly issuer: string; readonly acsUrl: string };
}

/** The HTTP-Redirect binding's SAMLRequest: base64 of the raw-deflated AuthnRequest. */
export function decodeAuthnRequest(location: string): Begun['request'] {
  const encoded = new URL(location).searchParams.get('SAMLRequest');
  assert.ok(encoded, `no SAMLRequest in ${location}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  assert.equal(root?.localName, 'AuthnRequest', xml);
  const issuer = root?.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]
    ?.textContent;
  return {
    id: root?.getAttribute('ID') ?? '',
    issuer: issuer?.trim() ?? '',
    acsUrl: root?.getAttribute('AssertionConsumerServiceURL') ?? '',
  };
}

/** `/sso/{id}/start?redirect_uri=` (or `start` as given): the redirect to the IdP, decoded. */
export async function begin(
  sso: SsoWorld,
  idp: SamlIdp,
  connectionId: string,
  jar: Map<string, string>,
  start = `/sso/${connectionId}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
): Promise<Begun> {
  const started = await sso.browse(start, { jar });
  assert.equal(started.status, 303, started.body);
  assert.ok(started.location.startsWith(`${idp.ssoUrl}?`), started.location);
  const relayState = new URL(started.location).searchParams.get('RelayState');
  assert.ok(relayState, 'the redirect carries a RelayState');
  return { location: started.location, relayState, request: decodeAuthnRequest(started.location) };
}

export interface PostedForm {
  readonly action: string;
  readonly SAMLResponse: string;
  readonly RelayState?: string;
}

/** The browser at the IdP (real HTTP): the self-submitting form it answers, read. */
export async function atIdp(location: string): Promise<PostedForm> {
  const page = await fetch(location, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, html);
  const value = (pattern: RegExp) => {
    const found = pattern.exec(html)?.[1];
    return found === undefined ? undefined : unescapeHtml(found);
  };
  const action = value(/<form method="post" action="([^"]*)"/);
  const response = value(/name="SAMLResponse" value="([^"]*)"/);
  assert.ok(action && response, html);
  const relay = value(/name="RelayState" value="([^"]*)"/);
  return { action, SAMLResponse: response, ...(relay === undefined ? {} : { RelayState: relay }) };
}

/** The browser submitting the IdP's form to the ACS. */
export function post(sso: SsoWorld, form: PostedForm, jar: Map<string, string>) {
  const fields: Record<string, string> = { SAMLResponse: form.SAMLResponse };
  if (form.RelayState !== undefined) fields.RelayState = form.RelayState;
  return sso.browse(form.action, { form: fields, jar });
}

/** SP-initiated sign-in: start, the IdP, the ACS, the completion (by the same browser). */
export async function samlSignIn(
  sso: SsoWorld,
  idp: SamlIdp,
  connectionId: string,
  jar = new Map<string, string>(),
) {
  const begun = await begin(sso, idp, connectionId, jar);
  const form = await atIdp(begun.location);
  const back = await post(sso, form, jar);
  assert.equal(back.status, 303, back.body);
  assert.match(back.location, /^\/sso\/complete\//);
  return { begun, form, back, done: await sso.browse(back.location, { jar }) };
}

/**
 * A started sign-in answered by a response the test IdP signs as `options` say (what to
 * get wrong), answering the request's ID unless told otherwise, posted to the ACS.
 */
export async function answerWith(
  sso: SsoWorld,
  idp: SamlIdp,
  connectionId: string,
  options: Partial<BuildResponseOptions>,
  jar = new Map<string, string>(),
) {
  const begun = await begin(sso, idp, connectionId, jar);
  const form = forged(idp, begun, options);
  return { begun, form, answer: await post(sso, form, jar) };
}

/** A response from the test IdP to the request `begun` names, with `options` applied. */
export function forged(
  idp: SamlIdp,
  begun: Begun,
  options: Partial<BuildResponseOptions>,
): PostedForm {
  const SAMLResponse = idp.buildResponse({
    sp: { entityId: begun.request.issuer, acsUrl: begun.request.acsUrl },
    inResponseTo: begun.request.id,
    sign: 'assertion',
    ...options,
  });
  return { action: begun.request.acsUrl, SAMLResponse, RelayState: begun.relayState };
}

/** The access token's claims (the tokens Tessera handed the application). */
export function claimsOf(accessToken: string): Record<string, unknown> {
  const [, payload = ''] = accessToken.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/**
 * A refusal page: the status of the problem `code`, and, for a refused IdP answer, the
 * reason it names. The page carries the detail, not the code: the trail's newest
 * `sso.login` failure of the tenant must name the same reason.
 */
export async function assertRefused(
  sso: SsoWorld,
  tenant: string,
  answer: { status: number; body: string },
  code: string,
  reason?: string,
): Promise<void> {
  const status = registeredErrorCodes().get(code)?.status;
  assert.ok(status !== undefined && status >= 400 && status < 500, code);
  assert.equal(answer.status, status, `${code}: ${answer.body}`);
  assert.match(answer.body, /Single sign-on did not work/);
  if (reason === undefined) return;
  if (code === 'sso_response_invalid') assert.ok(answer.body.includes(`(${reason})`), answer.body);
  const trail = await sso.api('GET', '/api/v1/audit?action=sso.login&outcome=failure&order=desc', {
    tenant,
  });
  assert.equal(trail.status, 200, JSON.stringify(trail.json));
  assert.equal(trail.json.events[0]?.payload.details.reason, reason);
}

/** Nobody was signed in through the connection: no link, no session in the tenant, no such user. */
export async function assertNobodySignedIn(
  sso: SsoWorld,
  tenant: string,
  connectionId: string,
  emails: readonly string[] = [],
): Promise<void> {
  const { kysely } = sso.test.db;
  const links = await kysely
    .selectFrom('sso_identities')
    .select('user_id')
    .where('connection_id', '=', connectionId)
    .execute();
  assert.deepEqual(links, []);
  const sessions = await kysely
    .selectFrom('sessions')
    .select('id')
    .where('tenant_id', '=', tenant)
    .execute();
  assert.deepEqual(sessions, []);
  for (const email of emails)
    assert.equal(await sso.test.services.identity.users.findByEmail(email), undefined, email);
}
