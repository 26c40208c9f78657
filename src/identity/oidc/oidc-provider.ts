import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { TENANT_PERMISSIONS } from '../../access/permissions.ts';
import { verifyClientSecret } from '../oauth-clients/oauth-client-lookup.ts';
import type { SessionRecord } from '../sessions/session-store.ts';
import type { PrivateSigningJwk } from '../tokens/signing-keys.ts';
import { createOidcAdapter } from './oidc-adapter.ts';
import { interactionPath, OIDC_ROUTES } from './oidc-paths.ts';
import {
  clientMetadata,
  type FindProviderClient,
  TESSERA_CLIENT_METADATA,
} from './provider-client.ts';

/** What the provider needs of Tessera: storage, clients, sessions, users, keys, pages. */
export interface OidcProviderDeps {
  readonly issuer: string;
  /** The `aud` of access tokens for Tessera's API (`auth.audience`). */
  readonly audience: string;
  readonly db: Parameters<typeof createOidcAdapter>[0]['db'];
  readonly findClient: FindProviderClient;
  /** The Tessera session an OAuth grant acts through, and ending it when the grant is revoked. */
  readonly sessionOfGrant: (grantId: string) => Promise<SessionRecord | undefined>;
  readonly grantRevoked: (grantId: string) => Promise<void>;
  readonly findUser: (userId: string) => Promise<OidcUser | undefined>;
  /**
   * Keys signing cookies (the browser session, the interaction): the same on every
   * node. Asked for when the provider is built, so commands that never serve it (the
   * CLI) never load the master key.
   */
  readonly cookieKeys: () => readonly string[];
  readonly secureCookies: boolean;
  readonly ttl: {
    readonly idTokenSeconds: number;
    readonly interactionSeconds: number;
    /** The browser session (single sign-on) at the provider. */
    readonly sessionSeconds: number;
  };
  /** Renders the provider's own pages (errors, logout) in Tessera's look. */
  readonly pages: ProviderPages;
  readonly now?: () => number;
}

export interface OidcUser {
  readonly id: string;
  readonly email: string;
  readonly email_verified: boolean;
  readonly name: string | null;
}

export interface ProviderPages {
  error(ctx: KoaContextWithOIDC, error: { error: string; error_description?: string }): string;
  logout(ctx: KoaContextWithOIDC, form: string): string;
  loggedOut(ctx: KoaContextWithOIDC): string;
}

/** The resource indicator (RFC 8707) of Tessera's API: where its access tokens are for. */
export const apiResource = (issuer: string): string => `${issuer}/api/v1`;

/** OpenID scopes besides the permission scopes (each a tenant permission name, `events:read`). */
export const OPENID_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;
const PERMISSION_SCOPES: ReadonlySet<string> = new Set(TENANT_PERMISSIONS);

/** ACR values: a single factor, or more than one (a second factor, a multi-factor passkey). */
export const ACR_SINGLE_FACTOR = 'urn:tessera:acr:1fa';
export const ACR_MULTI_FACTOR = 'urn:tessera:acr:mfa';

const CODE_TTL_SECONDS = 60;

/**
 * panva's oidc-provider (OpenID Certified) configured for Tessera: authorization code
 * with PKCE (S256, every client), refresh tokens rotated on every use, client
 * credentials, revocation, introspection, UserInfo, RP-initiated logout. No implicit,
 * hybrid or password grant, and no dynamic registration: clients are registered per
 * tenant through `/api/v1/oauth/clients`. Access tokens for the API are JWTs signed
 * with Tessera's signing key (RFC 9068), which the guard verifies like its own.
 */
export function createOidcProvider(
  deps: OidcProviderDeps,
  jwks: readonly PrivateSigningJwk[],
): Provider {
  const { issuer, audience } = deps;
  const resource = apiResource(issuer);
  const adapter = createOidcAdapter({
    db: deps.db,
    now: deps.now,
    onGrantRevoked: deps.grantRevoked,
    alreadyConsumed: () => new errors.InvalidGrant('grant request is invalid'),
    models: {
      // Clients come from the registry; the provider never writes them.
      Client: {
        async find(id) {
          const client = await deps.findClient(id);
          if (client?.tenant_status !== 'active') return undefined;
          return clientMetadata(client);
        },
      },
    },
  });

  /** The Tessera session of a grant, live; an ended one refuses the token request. */
  async function liveSessionOf(grantId: string | undefined): Promise<SessionRecord> {
    const session = grantId === undefined ? undefined : await deps.sessionOfGrant(grantId);
    const at = (deps.now ?? Date.now)();
    if (
      !session ||
      session.revoked_ms !== null ||
      session.expires_ms <= at ||
      session.tenant_status !== 'active' ||
      session.membership_status === 'deactivated'
    ) {
      throw new errors.InvalidGrant('the session of this grant has ended');
    }
    return session;
  }

  const clientNumber = (ctx: KoaContextWithOIDC | undefined, name: string, fallback: number) => {
    const value = (ctx?.oidc?.client as unknown as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'number' ? value : fallback;
  };

  const configuration: Configuration = {
    adapter: adapter as unknown as Configuration['adapter'],
    jwks: { keys: jwks.map((jwk) => ({ ...jwk })) },
    cookies: {
      keys: [...deps.cookieKeys()],
      names: {
        session: 'tessera_oidc_session',
        interaction: 'tessera_oidc_interaction',
        resume: 'tessera_oidc_resume',
      },
      long: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
      short: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
    },
    routes: OIDC_ROUTES,
    // Permission scopes are the API's (the resource server's `scope` below), not OpenID's.
    scopes: [...OPENID_SCOPES],
    // acr, amr and auth_time under `openid`: every ID token carries them (issue 19),
    // not only those whose request asked (max_age, acr_values, the claims parameter).
    claims: {
      openid: ['sub', 'tid', 'roles', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      sid: null,
    },
    // Scope claims go into the ID token too: a relying party whose access token is for
    // the API (a JWT, not usable at UserInfo) still learns the user's email from it.
    conformIdTokenClaims: false,
    acrValues: [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'EdDSA',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['EdDSA'],
      userinfoSigningAlgValues: ['EdDSA'],
      introspectionSigningAlgValues: ['EdDSA'],
      authorizationSigningAlgValues: ['EdDSA'],
    },
    extraClientMetadata: { properties: [...TESSERA_CLIENT_METADATA] },
    // `tenant`: the tenant to sign in to. A client pinned to its own tenant may name
    // only that one; asking for another is refused before anyone signs in.
    extraParams: {
      tenant: async (_ctx, value, client) => {
        if (value === undefined) return;
        const extra = client as unknown as { tenant_id?: string; tenant_choice?: boolean };
        if (value === '' || value.length > 128) {
          throw new errors.InvalidRequest('tenant must name a tenant');
        }
        if (!extra.tenant_choice && value !== extra.tenant_id) {
          throw new errors.InvalidRequest('this client signs users in to its own tenant only');
        }
      },
    },
    // Exact redirect URIs, always sent: nothing is guessed for a client.
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect its own tokens only.
        allowedPolicy: async (_ctx, client, token) =>
          !('clientId' in token) || token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        // A client may revoke its own tokens only.
        allowedPolicy: async (_ctx, client, token) =>
          !('clientId' in token) || token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      claimsParameter: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = deps.pages.logout(ctx, form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = deps.pages.loggedOut(ctx);
        },
      },
      resourceIndicators: {
        enabled: true,
        // The API is the resource whenever a permission scope is asked for; a request for
        // `openid profile email` alone gets an access token for UserInfo.
        defaultResource: async (ctx) => {
          const scope = String(ctx.oidc.params?.scope ?? '');
          return scope.split(' ').some((name) => PERMISSION_SCOPES.has(name))
            ? resource
            : undefined;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          // The permission scopes this client was registered with, and no others.
          const registered = await deps.findClient(client.clientId);
          const allowed = (registered?.scopes ?? []).filter((name) => PERMISSION_SCOPES.has(name));
          return {
            scope: allowed.join(' '),
            audience,
            accessTokenTTL: clientNumber(ctx, 'access_token_ttl_seconds', 900),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'EdDSA' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind === 'ClientCredentials') {
        const client = await deps.findClient(token.clientId ?? '');
        // A machine client acts with its role, capped by its creator's: none once the
        // creator is no active member of the tenant (as an API key's).
        if (!client || client.role === null || client.creator_roles?.length === 0) {
          throw new errors.InvalidClient('the client cannot act in its tenant');
        }
        return { tid: client.tenant_id, roles: [client.role] };
      }
      const session = await liveSessionOf(token.grantId);
      const user = await deps.findUser(session.user_id);
      return {
        tid: session.tenant_id,
        roles: [...session.roles],
        sid: session.id,
        email_verified: user?.email_verified ?? false,
        amr: [...session.amr],
        auth_time: Math.floor(session.auth_time_ms / 1000),
      };
    },
    findAccount: async (ctx, sub, token) => {
      const user = await deps.findUser(sub);
      if (!user) return undefined;
      const grantId =
        (token as { grantId?: string } | undefined)?.grantId ?? ctx.oidc?.entities?.Grant?.jti;
      const session = grantId === undefined ? undefined : await deps.sessionOfGrant(grantId);
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: user.email,
          email_verified: user.email_verified,
          ...(user.name ? { name: user.name } : {}),
          ...(session ? { tid: session.tenant_id, roles: [...session.roles] } : {}),
        }),
      };
    },
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Every refresh rotates its token; presenting a rotated one revokes the grant.
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: (ctx) => clientNumber(ctx, 'access_token_ttl_seconds', 900),
      ClientCredentials: (ctx) => clientNumber(ctx, 'access_token_ttl_seconds', 900),
      AuthorizationCode: CODE_TTL_SECONDS,
      IdToken: deps.ttl.idTokenSeconds,
      Interaction: deps.ttl.interactionSeconds,
      Session: deps.ttl.sessionSeconds,
      Grant: (ctx) => clientNumber(ctx, 'refresh_token_ttl_seconds', 2_592_000),
      RefreshToken: (ctx) => clientNumber(ctx, 'refresh_token_ttl_seconds', 2_592_000),
    },
    interactions: { url: async (_ctx, interaction) => interactionPath(interaction.uid) },
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => safeOrigin(uri) === origin) ?? false,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = deps.pages.error(ctx, out as { error: string; error_description?: string });
    },
  };

  const provider = new Provider(issuer, configuration);
  // The registry keeps only a digest of each secret (identity/oauth-clients/).
  provider.Client.prototype.compareClientSecret = async function compare(actual: string) {
    return verifyClientSecret({ secret_digest: this.clientSecret ?? null }, actual);
  };
  return provider;
}

function safeOrigin(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}
