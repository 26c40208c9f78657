import type { Page } from 'playwright-core';
import type { Engine } from '../../src/storage/database.ts';
import { type OidcWorld, oidcWorld } from './oidc-fixture.ts';
import { type OidcIdp, startOidcIdp } from './oidc-idp.ts';
import { NAMEID_EMAIL, type SamlIdp, startSamlIdp } from './saml-idp.ts';
import { CLIENT } from './sso-oidc-flow.ts';

/**
 * Single sign-on in real Chromium (issue 20): Tessera listening as the OpenID Provider
 * (oidcWorld) at `localhost`, panva's oidc-provider and the signing SAML test IdP at
 * `127.0.0.1` (another site: the IdPs' cookies never mix with Tessera's, and the SAML
 * POST to the ACS is cross-site, as in production). Tenant acme has one connection of
 * each kind and the callback server as its SSO redirect URI; a first-party client
 * pinned to acme and one open to any tenant.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

export const OIDC_CONNECTION = 'Acme Okta';
export const SAML_CONNECTION = 'Acme ADFS';
/** The email domain routed to the OpenID Connect connection. */
export const OIDC_DOMAIN = 'acme.example';
export const SAML_DOMAIN = 'saml.acme.example';

export interface SsoBrowserWorld {
  readonly world: OidcWorld;
  readonly oidcIdp: OidcIdp;
  readonly samlIdp: SamlIdp;
  readonly oidcConnection: { id: string; name: string };
  readonly samlConnection: { id: string; name: string };
  /** First party, pinned to acme: its sign-in page offers acme's IdPs as buttons. */
  readonly pinned: { id: string; client_secret?: string };
  /** First party of acme, open to any tenant (`tenant_choice`): discovery only. */
  readonly chooser: { id: string; client_secret?: string };
  /** A JSON request to Tessera's API with a tenant's admin key. */
  api(
    method: string,
    path: string,
    options?: { tenant?: string; body?: unknown },
  ): Promise<{ status: number; json: Json }>;
  /** A tab whose CSP violations and script errors are collected. */
  tab(): Promise<{ tab: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function ssoBrowserWorld(engine: Engine): Promise<SsoBrowserWorld> {
  const world = await oidcWorld(engine, {
    host: 'localhost',
    config: () => ({ sso: { allow_insecure_urls: true } }),
  });
  const closers: (() => Promise<void>)[] = [() => world.close()];
  try {
    const oidcIdp = await startOidcIdp({
      clients: [{ ...CLIENT, redirect_uris: [`${world.issuer}/sso/oidc/*`] }],
    });
    closers.unshift(() => oidcIdp.close());
    const samlIdp = await startSamlIdp();
    closers.unshift(() => samlIdp.close());

    const api: SsoBrowserWorld['api'] = async (method, path, options = {}) => {
      const response = await fetch(`${world.issuer}${path}`, {
        method,
        headers: {
          'x-api-key': await world.adminKey(options.tenant ?? 'acme'),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, json };
    };
    const must = async (method: string, path: string, body: unknown, status: number) => {
      const answer = await api(method, path, { body });
      if (answer.status !== status) {
        throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.json)}`);
      }
      return answer.json;
    };

    await must(
      'PATCH',
      '/api/v1/tenants/acme/sign-in-settings',
      { redirect_uris: [world.callback.url] },
      200,
    );
    const oidcConnection = await must(
      'POST',
      '/api/v1/sso/connections',
      {
        type: 'oidc',
        name: OIDC_CONNECTION,
        domains: [OIDC_DOMAIN],
        oidc: { issuer: oidcIdp.issuer, ...CLIENT },
        mapping: { default_roles: ['viewer'] },
      },
      201,
    );
    const samlConnection = await must(
      'POST',
      '/api/v1/sso/connections',
      {
        type: 'saml',
        name: SAML_CONNECTION,
        domains: [SAML_DOMAIN],
        saml: {
          idp_entity_id: samlIdp.entityId,
          sso_url: samlIdp.ssoUrl,
          certificates: [samlIdp.certificate],
        },
        mapping: { default_roles: ['viewer'] },
      },
      201,
    );
    samlIdp.user = {
      nameId: `sam@${SAML_DOMAIN}`,
      nameIdFormat: NAMEID_EMAIL,
      attributes: { email: `sam@${SAML_DOMAIN}`, name: 'Sam' },
    };
    const common = {
      type: 'confidential',
      grant_types: ['authorization_code'],
      redirect_uris: [world.callback.url],
      scopes: ['openid', 'email', 'profile'],
      first_party: true,
    };
    const pinned = await world.registerClient('acme', { ...common, name: 'Acme Console' });
    const chooser = await world.registerClient('acme', {
      ...common,
      name: 'Acme Everywhere',
      tenant_choice: true,
    });

    return {
      world,
      oidcIdp,
      samlIdp,
      oidcConnection: { id: oidcConnection.id, name: oidcConnection.name },
      samlConnection: { id: samlConnection.id, name: samlConnection.name },
      pinned,
      chooser,
      api,
      async tab() {
        const tab = await world.tab();
        const problems: string[] = [];
        tab.on('pageerror', (error) => problems.push(`pageerror at ${tab.url()}: ${error}`));
        tab.on('console', (message) => {
          // A missing favicon is a console error too; a CSP violation names the policy.
          if (
            message.type() === 'error' &&
            /Content Security Policy|Refused to/i.test(message.text())
          ) {
            problems.push(`at ${tab.url()}: ${message.text()}`);
          }
        });
        return { tab, problems };
      },
      async close() {
        for (const close of closers) await close();
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined);
    throw error;
  }
}

/** At the OIDC test IdP's sign-in page: signs in as its current user. */
export async function signInAtIdp(tab: Page): Promise<void> {
  await tab.locator('#idp-sign-in').click();
}

/** The user a just-in-time sign-in made, by email; undefined when none. */
export async function userIdByEmail(world: OidcWorld, email: string): Promise<string | undefined> {
  const row = await world.test.db.kysely
    .selectFrom('users')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst();
  return row?.id;
}
