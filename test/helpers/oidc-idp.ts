import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real OpenID Provider for the relying-party tests (sso/oidc/): panva's oidc-provider
 * on 127.0.0.1, with the in-memory adapter, PKCE (S256) required, RS256 ID tokens and a
 * one-button sign-in page that a browser or `authorize()` can go through.
 *
 * Claims released: `openid` → sub, amr; `email` → email, email_verified; `profile` →
 * name, groups (groups rides on `profile`: no IdP-specific scope to ask for). Scope
 * claims are put in the ID token too (`conformIdTokenClaims: false`), unless
 * `emailInIdToken` is false, which leaves email and email_verified to UserInfo.
 */

export interface IdpUser {
  readonly sub: string;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly name?: string;
  readonly groups?: unknown;
}

export interface IdpClient {
  readonly client_id: string;
  readonly client_secret: string;
  /**
   * Exact redirect URIs; one ending in `*` allows every URI it starts (a test whose
   * relying party's redirect URI names an id made after the IdP started).
   */
  readonly redirect_uris: readonly string[];
}

export interface OidcIdp {
  /** `http://127.0.0.1:PORT`, exactly as the discovery document and ID tokens say. */
  readonly issuer: string;
  /** Who signs in on the next interaction. */
  user: IdpUser;
  /** false: email and email_verified only from UserInfo, never in the ID token. */
  emailInIdToken: boolean;
  /** Set: UserInfo answers about this `sub` instead (a broken or hostile IdP). */
  userinfoSub: string | undefined;
  /** How many times the discovery document was served (to see a relying party's cache). */
  readonly discoveryRequests: number;
  /**
   * Follows the IdP's redirects from an authorization URL, signs in (or, with
   * `deny`, cancels) by POSTing the interaction form, and returns the URL the IdP sent
   * the browser back to, without requesting it.
   */
  authorize(url: string, options?: { deny?: boolean }): Promise<URL>;
  close(): Promise<void>;
}

const MAX_HOPS = 10;
const MAX_COOKIES = 20;
const INTERACTION = /^\/interaction\/([\w-]+)(\/login|\/deny)?$/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function startOidcIdp(options: { clients: readonly IdpClient[] }): Promise<OidcIdp> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  // Who signed in, by sub, as they were at sign-in: tokens are about that person.
  const accounts = new Map<string, IdpUser>();
  let discoveryRequests = 0;

  const state = {
    user: { sub: 'idp-user-1', email: 'ada@example.com', email_verified: true } as IdpUser,
    emailInIdToken: true,
    userinfoSub: undefined as string | undefined,
  };

  const configuration: Configuration = {
    clients: options.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: [...client.redirect_uris],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    conformIdTokenClaims: false,
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Grant: 600,
      Interaction: 600,
      Session: 600,
    },
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub, token) => {
      const user = accounts.get(sub) ?? (state.user.sub === sub ? state.user : undefined);
      if (!user) return undefined;
      // oidc-provider answers UserInfo with `sub` = accountId, asked with the access token.
      const userinfo = token?.kind === 'AccessToken';
      return {
        accountId: userinfo && state.userinfoSub !== undefined ? state.userinfoSub : sub,
        claims: async (use) => {
          const { sub: _sub, email, email_verified, ...rest } = user;
          const withEmail = use !== 'id_token' || state.emailInIdToken;
          return {
            sub,
            ...rest,
            ...(withEmail && email !== undefined ? { email } : {}),
            ...(withEmail && email_verified !== undefined ? { email_verified } : {}),
          };
        },
      };
    },
  };
  // The issuer names the port, known once listening: the server reaches the provider late.
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, configuration);
  const exact = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function allowed(
    this: { redirectUris?: string[] },
    value: string,
  ) {
    const prefixes = (this.redirectUris ?? []).filter((uri) => uri.endsWith('*'));
    return prefixes.some((uri) => value.startsWith(uri.slice(0, -1))) || exact.call(this, value);
  };
  const callback = provider.callback();

  async function signInPage(req: IncomingMessage, res: ServerResponse, uid: string) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction cookie of another interaction');
    const who = escapeHtml(`${state.user.name ?? state.user.sub} <${state.user.email ?? ''}>`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Test IdP</title></head><body>
<p id="idp-who">Signing in as ${who}</p>
<form method="post" action="/interaction/${uid}/login">
  <button type="submit" id="idp-sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/deny">
  <button type="submit" id="idp-cancel">Cancel</button>
</form></body></html>`);
  }

  /** Login and consent in one step: the grant holds every scope asked for. */
  async function finish(req: IncomingMessage, res: ServerResponse, uid: string, deny: boolean) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction cookie of another interaction');
    if (deny) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'the user cancelled',
      });
      return;
    }
    const user = state.user;
    accounts.set(user.sub, user);
    const clientId = String(details.params.client_id);
    const grant = new provider.Grant({ accountId: user.sub, clientId });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub, amr: ['pwd'] }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/.well-known/openid-configuration') discoveryRequests += 1;
    const interaction = INTERACTION.exec(path);
    if (!interaction?.[1]) {
      callback(req, res);
      return;
    }
    const uid = interaction[1];
    const step = interaction[2];
    const work =
      step === undefined && req.method === 'GET'
        ? signInPage(req, res, uid)
        : step !== undefined && req.method === 'POST'
          ? finish(req, res, uid, step === '/deny')
          : Promise.reject(new Error('no such interaction route'));
    work.catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  }

  async function authorize(url: string, authorizeOptions?: { deny?: boolean }): Promise<URL> {
    const jar = new Map<string, string>();
    let next = new URL(url);
    let method = 'GET';
    for (let hop = 0; hop < MAX_HOPS; hop += 1) {
      if (next.origin !== issuer) return next;
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
      const response = await fetch(next, {
        method,
        redirect: 'manual',
        headers: cookie ? { cookie } : {},
      });
      remember(jar, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        next = new URL(location, next);
        method = 'GET';
        continue;
      }
      const body = await response.text();
      const wanted = authorizeOptions?.deny ? '/deny' : '/login';
      const form = INTERACTION.test(next.pathname)
        ? [...body.matchAll(/action="([^"]+)"/g)]
            .map((match) => match[1] ?? '')
            .find((action) => action.endsWith(wanted))
        : undefined;
      if (response.status !== 200 || form === undefined) {
        throw new Error(`the IdP answered ${response.status} at ${next.pathname}: ${body}`);
      }
      next = new URL(form, next);
      method = 'POST';
    }
    throw new Error(`more than ${MAX_HOPS} hops at the IdP`);
  }

  return {
    issuer,
    get user() {
      return state.user;
    },
    set user(user: IdpUser) {
      state.user = user;
    },
    get emailInIdToken() {
      return state.emailInIdToken;
    },
    set emailInIdToken(value: boolean) {
      state.emailInIdToken = value;
    },
    get userinfoSub() {
      return state.userinfoSub;
    },
    set userinfoSub(value: string | undefined) {
      state.userinfoSub = value;
    },
    get discoveryRequests() {
      return discoveryRequests;
    },
    authorize,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A small cookie jar: name → value, cleared cookies removed, at most MAX_COOKIES kept. */
function remember(jar: Map<string, string>, setCookies: readonly string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    const cleared = attributes.some((attribute) => {
      const [key = '', setting = ''] = attribute.trim().split('=');
      const lower = key.toLowerCase();
      return (
        (lower === 'max-age' && Number(setting) <= 0) ||
        (lower === 'expires' && Date.parse(setting) < Date.now())
      );
    });
    jar.delete(name);
    if (!cleared) jar.set(name, value);
    while (jar.size > MAX_COOKIES) jar.delete(jar.keys().next().value as string);
  }
}
