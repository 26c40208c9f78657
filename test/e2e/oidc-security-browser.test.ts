import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type * as client from 'openid-client';
import {
  backAtClient,
  CHROMIUM,
  type OidcWorld,
  oidcWorld,
  PASSWORD,
  signInWithPassword,
} from '../helpers/oidc-fixture.ts';

/**
 * What the OpenID Provider refuses (issue 19, item 6): redirect URIs that are not
 * registered exactly, requests without PKCE or with the wrong verifier, a code used
 * twice, a forged form, a client asking for another tenant. And the flows around the
 * sign-in: machine clients, the tenant picker, consent, single sign-on and logout.
 */

const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed` : false;

type Client = { id: string; client_secret?: string };

describe('OpenID Provider: refusals, machine clients, tenants, consent, logout', { skip }, () => {
  let world: OidcWorld;
  let pinned: Client;
  let chooser: Client;
  let thirdParty: Client;
  let machine: Client;

  before(async () => {
    world = await oidcWorld('sqlite');
    await world.user('ada@example.com', { acme: ['admin'] });
    await world.user('max@example.com', { acme: ['viewer'], beta: ['developer'] });
    const common = {
      type: 'confidential',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [world.callback.url],
      post_logout_redirect_uris: [`${world.callback.url}/signed-out`],
      scopes: ['openid', 'email', 'offline_access', 'events:read'],
    };
    pinned = await world.registerClient('acme', {
      ...common,
      name: 'Acme Console',
      first_party: true,
    });
    chooser = await world.registerClient('acme', {
      ...common,
      name: 'Acme Everywhere',
      first_party: true,
      tenant_choice: true,
    });
    thirdParty = await world.registerClient('acme', { ...common, name: 'Partner Reports' });
    machine = await world.registerClient('acme', {
      name: 'Nightly export',
      type: 'confidential',
      grant_types: ['client_credentials'],
      scopes: ['events:read', 'events:write'],
      role: 'viewer',
    });
  });
  after(() => world?.close());

  /** GET of an authorization URL without following redirects: where the provider sends the browser. */
  async function authorize(
    url: URL,
  ): Promise<{ status: number; location: URL | null; body: string }> {
    const response = await fetch(url, { redirect: 'manual' });
    const location = response.headers.get('location');
    return {
      status: response.status,
      location: location ? new URL(location, world.issuer) : null,
      body: await response.text(),
    };
  }

  async function apiStatus(token: string, method = 'GET', url = '/api/v1/entities/e-1/events') {
    const response = await world.test.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(method === 'POST'
        ? { payload: { events: [{ event_type: 'thing.happened', payload: {} }] } }
        : {}),
    });
    return response.statusCode;
  }

  it('shows an error page, never a redirect, for a redirect URI that is not registered exactly', async () => {
    const rp = await world.relyingParty(pinned);
    for (const redirect of [
      `${world.callback.url}/other`,
      `${world.callback.url}?next=https://evil.example`,
      'https://evil.example/cb',
      world.callback.url.replace('/cb', '/CB'),
    ]) {
      const { url } = await rp.begin('openid', { redirect_uri: redirect });
      const answer = await authorize(url);
      assert.equal(answer.status, 400, redirect);
      assert.equal(answer.location, null, redirect);
      assert.match(answer.body, /invalid_redirect_uri/);
    }
  });

  it('refuses a request without PKCE, or with the plain method', async () => {
    const rp = await world.relyingParty(pinned);
    const { url } = await rp.begin('openid');
    const without = new URL(url);
    without.searchParams.delete('code_challenge');
    without.searchParams.delete('code_challenge_method');
    const refused = await authorize(without);
    assert.equal(refused.location?.searchParams.get('error'), 'invalid_request');
    assert.match(String(refused.location?.searchParams.get('error_description')), /PKCE/);
    const plain = new URL(url);
    plain.searchParams.set('code_challenge_method', 'plain');
    const plainRefused = await authorize(plain);
    assert.equal(plainRefused.location?.searchParams.get('error'), 'invalid_request');
  });

  it('refuses a pinned client asking for another tenant before anyone signs in', async () => {
    const rp = await world.relyingParty(pinned);
    const { url } = await rp.begin('openid', { tenant: 'beta' });
    const answer = await authorize(url);
    assert.equal(answer.location?.searchParams.get('error'), 'invalid_request');
    assert.match(String(answer.location?.searchParams.get('error_description')), /own tenant/);
  });

  /** Signs in on a fresh tab and comes back with the callback URL (the code unspent). */
  async function codeFor(
    rpClient: Client,
    email = 'ada@example.com',
    scope = 'openid email events:read',
  ) {
    const rp = await world.relyingParty(rpClient);
    const { url, checks } = await rp.begin(scope);
    const tab = await world.tab();
    await tab.goto(url.toString());
    await signInWithPassword(tab, email);
    const back = await backAtClient(tab, world.callback);
    return { rp, back, checks, tab };
  }

  it('refuses a wrong PKCE verifier, and a code used twice revokes what it gave', async () => {
    const wrong = await codeFor(pinned);
    await wrong.tab.context().close();
    await assert.rejects(
      wrong.rp.complete(wrong.back, { ...wrong.checks, pkceCodeVerifier: 'x'.repeat(43) }),
      (error: client.ResponseBodyError) => error.error === 'invalid_grant',
    );

    const twice = await codeFor(pinned);
    await twice.tab.context().close();
    const tokens = await twice.rp.complete(twice.back, twice.checks);
    assert.equal(await apiStatus(tokens.access_token), 200);
    await assert.rejects(
      twice.rp.complete(twice.back, twice.checks),
      (error: client.ResponseBodyError) => error.error === 'invalid_grant',
    );
    // RFC 6749 §4.1.2: the tokens issued from the code are revoked.
    assert.equal(await apiStatus(tokens.access_token), 401);
  });

  it('refuses a sign-in form posted without its CSRF token', async () => {
    const rp = await world.relyingParty(pinned);
    const { url } = await rp.begin('openid');
    const tab = await world.tab();
    await tab.goto(url.toString());
    const action = await tab.locator('form[action$="/password"]').getAttribute('action');
    // A form elsewhere cannot know the token: the same post, with the browser's own
    // cookies (the interaction's and the CSRF secret's), without it.
    const posted = await tab.context().request.post(new URL(String(action), world.issuer).href, {
      form: { email: 'ada@example.com', password: PASSWORD },
      maxRedirects: 0,
    });
    assert.equal(posted.status(), 403);
    await tab.context().close();
  });

  it('lets a machine client act with its role in its tenant, and stops it when deleted', async () => {
    const rp = await world.relyingParty(machine);
    const answer = await rp.machineToken('events:read events:write');
    const claims = decodeJwt(answer.access_token);
    assert.equal(claims.sub, machine.id);
    assert.equal(claims.tid, 'acme');
    assert.equal(await apiStatus(answer.access_token), 200);
    // A viewer reads but cannot append, whatever its scopes say.
    assert.equal(await apiStatus(answer.access_token, 'POST'), 403);
    const deleted = await fetch(`${world.issuer}/api/v1/oauth/clients/${machine.id}`, {
      method: 'DELETE',
      headers: { 'x-api-key': await world.adminKey('acme') },
    });
    assert.equal(deleted.status, 204);
    assert.equal(await apiStatus(answer.access_token), 401);
    await assert.rejects(rp.machineToken('events:read'));
  });

  it('lets a member of several tenants choose one, and only one of theirs', async () => {
    const rp = await world.relyingParty(chooser);
    const { url, checks } = await rp.begin('openid email events:read');
    const tab = await world.tab();
    await tab.goto(url.toString());
    await signInWithPassword(tab, 'max@example.com');
    await tab.getByRole('heading', { name: 'Choose an organization' }).waitFor();
    // A forged choice of a tenant the user is no member of changes nothing.
    const form = tab.locator('form[action$="/tenant"]');
    const forged = await tab
      .context()
      .request.post(new URL(String(await form.getAttribute('action')), world.issuer).href, {
        form: {
          _csrf: String(await form.locator('input[name="_csrf"]').getAttribute('value')),
          tenant_id: 'system',
        },
        maxRedirects: 0,
      });
    assert.equal(forged.status(), 400);
    await tab.getByRole('button', { name: 'Beta' }).click();
    // First-party in its own tenant only: in Beta, Acme's client must ask.
    await tab.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await tab.getByRole('button', { name: 'Allow' }).click();
    const back = await backAtClient(tab, world.callback);
    const tokens = await rp.complete(back, checks);
    assert.equal(decodeJwt(tokens.access_token).tid, 'beta');
    assert.deepEqual(decodeJwt(tokens.access_token).roles, ['developer']);
    await tab.context().close();
  });

  it('asks consent for a third-party client: deny answers access_denied, allow a code', async () => {
    const rp = await world.relyingParty(thirdParty);
    const denied = await rp.begin('openid email');
    const tab = await world.tab();
    await tab.goto(denied.url.toString());
    await signInWithPassword(tab, 'ada@example.com');
    await tab.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await tab.getByRole('button', { name: 'Deny' }).click();
    const refused = await backAtClient(tab, world.callback);
    assert.equal(refused.searchParams.get('error'), 'access_denied');

    const allowed = await rp.begin('openid email');
    await tab.goto(allowed.url.toString());
    await signInWithPassword(tab, 'ada@example.com');
    await tab.getByRole('button', { name: 'Allow' }).click();
    const back = await backAtClient(tab, world.callback);
    const tokens = await rp.complete(back, allowed.checks);
    assert.equal(decodeJwt(tokens.id_token as string).email, 'ada@example.com');
    await tab.context().close();
  });

  it('a sign-in whose session was ended before consent cannot finish, and says so', async () => {
    const userId = await world.user('eve@example.com', { acme: ['viewer'] });
    const rp = await world.relyingParty(thirdParty);
    const { url } = await rp.begin('openid email');
    const tab = await world.tab();
    await tab.goto(url.toString());
    await signInWithPassword(tab, 'eve@example.com');
    await tab.getByRole('heading', { name: 'Allow access?' }).waitFor();
    // An administrator ends every session of the user meanwhile.
    const ended = await fetch(`${world.issuer}/api/v1/users/${userId}/sessions`, {
      method: 'DELETE',
      headers: { 'x-api-key': await world.adminKey('acme') },
    });
    assert.equal(ended.status, 200, await ended.text());
    await tab.getByRole('button', { name: 'Allow' }).click();
    await tab.getByRole('heading', { name: 'This sign-in cannot continue' }).waitFor();
    assert.equal(world.callback.last()?.searchParams.get('code') ?? null, null);
    await tab.context().close();
  });

  it('signs in once for several requests; prompt=login asks again; logout ends it', async () => {
    const rp = await world.relyingParty(pinned);
    const tab = await world.tab();
    const first = await rp.begin('openid email');
    await tab.goto(first.url.toString());
    await signInWithPassword(tab, 'ada@example.com');
    const tokens = await rp.complete(await backAtClient(tab, world.callback), first.checks);

    // Single sign-on: straight back, even with prompt=none.
    const silent = await rp.begin('openid email', { prompt: 'none' });
    await tab.goto(silent.url.toString());
    const again = await rp.complete(await backAtClient(tab, world.callback), silent.checks);
    assert.equal(decodeJwt(again.id_token as string).sub, decodeJwt(tokens.id_token as string).sub);

    const forced = await rp.begin('openid email', { prompt: 'login' });
    await tab.goto(forced.url.toString());
    await tab.getByLabel('Password').waitFor();
    // max_age=0: the sign-in is too old whatever its age, so it is asked again.
    const aged = await rp.begin('openid email', { max_age: '0' });
    await tab.goto(aged.url.toString());
    await tab.getByLabel('Password').waitFor();

    // RP-initiated logout, to a registered URI only.
    const elsewhere = rp.logoutUrl(tokens.id_token as string, 'https://evil.example/');
    const refusedLogout = await fetch(elsewhere, { redirect: 'manual' });
    assert.equal(refusedLogout.status, 400);
    await tab.goto(
      rp.logoutUrl(tokens.id_token as string, `${world.callback.url}/signed-out`).toString(),
    );
    await tab.getByRole('button', { name: 'Sign out' }).click();
    await tab.waitForURL(`${world.callback.url}/signed-out`);
    const after = await rp.begin('openid email', { prompt: 'none' });
    await tab.goto(after.url.toString());
    const answer = await backAtClient(tab, world.callback);
    assert.equal(answer.searchParams.get('error'), 'login_required');
    await tab.context().close();
  });

  it('keeps the password out of every page and redirect', async () => {
    const { back, tab } = await codeFor(pinned);
    assert.doesNotMatch(back.toString(), new RegExp(PASSWORD));
    await tab.context().close();
  });
});
