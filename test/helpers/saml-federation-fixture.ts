/**
 * The SAML SP module (src/sso/saml) wired to the test IdP and a real replay store, for
 * its tests: one connection per setup, with a fresh id so replay caches never collide.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { AssertionReplayStore } from '../../src/sso/assertion-replay-store.ts';
import { FederationRefused, SAML_CLAIM_DEFAULTS } from '../../src/sso/federated-identity.ts';
import {
  createSamlFederation,
  type SamlConnection,
  type SamlFederation,
  samlAcsUrl,
  samlEntityId,
} from '../../src/sso/saml/saml-federation.ts';
import type { SamlSettings } from '../../src/sso/saml/saml-settings.ts';
import { type SamlIdp, startSamlIdp } from './saml-idp.ts';

export const SP_BASE_URL = 'https://tessera.test';
export const CLOCK_SKEW_MS = 60_000;

export interface SamlSetup {
  readonly idp: SamlIdp;
  readonly federation: SamlFederation;
  readonly connection: SamlConnection;
}

export interface SamlSetupOptions {
  readonly settings?: Partial<SamlSettings>;
  readonly trusted?: boolean;
  readonly idpInitiated?: boolean;
}

export async function startSamlSetup(
  t: TestContext,
  replay: Pick<AssertionReplayStore, 'claim'>,
  options: SamlSetupOptions = {},
): Promise<SamlSetup> {
  const idp = await startSamlIdp();
  t.after(() => idp.close());
  const id = `sso_${randomBytes(6).toString('hex')}`;
  const connection: SamlConnection = {
    id,
    settings: {
      idp_entity_id: idp.entityId,
      sso_url: idp.ssoUrl,
      certificates: [idp.certificate],
      want_assertions_signed: true,
      ...options.settings,
    },
    claimNames: SAML_CLAIM_DEFAULTS,
    trusted: options.trusted ?? true,
    idpInitiated: options.idpInitiated ?? false,
  };
  idp.sp = { entityId: samlEntityId(SP_BASE_URL, id), acsUrl: samlAcsUrl(SP_BASE_URL, id) };
  const federation = createSamlFederation({
    baseUrl: SP_BASE_URL,
    replay,
    clockSkewMs: CLOCK_SKEW_MS,
  });
  return { idp, federation, connection };
}

/**
 * A whole SP-initiated round trip without a browser: Tessera's AuthnRequest URL is
 * fetched from the IdP, and the form it answers is read as a browser would submit it.
 */
export async function signInThroughIdp(
  setup: SamlSetup,
  relayState: string,
): Promise<{
  requestId: string;
  form: { SAMLResponse: string; RelayState: string | undefined };
  action: string;
}> {
  const { url, requestId } = await setup.federation.begin(setup.connection, relayState);
  const page = await fetch(url, { redirect: 'manual' });
  if (page.status !== 200)
    throw new Error(`the test IdP answered ${page.status}: ${await page.text()}`);
  const html = await page.text();
  const action = inputOf(html, /<form method="post" action="([^"]*)"/);
  const samlResponse = inputOf(html, /name="SAMLResponse" value="([^"]*)"/);
  const relay = /name="RelayState" value="([^"]*)"/.exec(html)?.[1];
  return {
    requestId,
    action: unescapeHtml(action),
    form: {
      SAMLResponse: samlResponse,
      RelayState: relay === undefined ? undefined : unescapeHtml(relay),
    },
  };
}

function inputOf(html: string, pattern: RegExp): string {
  const value = pattern.exec(html)?.[1];
  if (value === undefined) throw new Error(`the IdP page has no ${pattern.source}`);
  return value;
}

/** The text of an HTML attribute value, as the browser reads it. */
export function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Asserts the sign-in was refused for this reason (the detail is shown when it was not). */
export async function assertRefused(
  attempt: Promise<unknown>,
  reason: string,
): Promise<FederationRefused> {
  let outcome: unknown;
  try {
    outcome = await attempt;
  } catch (error) {
    if (!(error instanceof FederationRefused)) throw error;
    assert.equal(error.reason, reason, `refused for ${error.reason}: ${error.message}`);
    return error;
  }
  assert.fail(`accepted instead of refused (${reason}): ${JSON.stringify(outcome)}`);
}
