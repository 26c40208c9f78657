import type { OAuthClientOwner } from '../oauth-clients/oauth-client-lookup.ts';

/**
 * A registered OAuth client as the OpenID Provider needs it: the registry's lookup
 * answer (identity/oauth-clients/ owns the table), with its tenant's state and what
 * caps a machine client (its creator's roles now).
 */
export type ProviderClient = OAuthClientOwner;

export type FindProviderClient = (clientId: string) => Promise<ProviderClient | undefined>;

const OPENID_SCOPE_NAMES: ReadonlySet<string> = new Set([
  'openid',
  'offline_access',
  'profile',
  'email',
]);

/** Client metadata properties Tessera adds (oidc-provider's `extraClientMetadata`). */
export const TESSERA_CLIENT_METADATA = [
  'tenant_id',
  'first_party',
  'tenant_choice',
  'role',
  'access_token_ttl_seconds',
  'refresh_token_ttl_seconds',
] as const;

/**
 * The client's metadata in oidc-provider's terms (OpenID Connect Dynamic Client
 * Registration §2). `client_secret` carries the digest: comparisons go through
 * `verifyClientSecret` (oidc-provider.ts), so the secret itself is never stored.
 */
export function clientMetadata(client: ProviderClient): Record<string, unknown> {
  const authorizes = client.grant_types.includes('authorization_code');
  const openidScopes = client.scopes.filter((scope) => OPENID_SCOPE_NAMES.has(scope));
  return {
    client_id: client.id,
    client_name: client.name,
    ...(client.type === 'confidential' && client.secret_digest !== null
      ? { client_secret: client.secret_digest, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
    grant_types: [...client.grant_types],
    response_types: authorizes ? ['code'] : [],
    redirect_uris: authorizes ? [...client.redirect_uris] : [],
    post_logout_redirect_uris: [...client.post_logout_redirect_uris],
    // OpenID scopes only: the permission scopes are the API resource's (oidc-provider.ts).
    // A machine client may have none, and then no `scope` (an empty one is invalid).
    ...(openidScopes.length > 0 ? { scope: openidScopes.join(' ') } : {}),
    id_token_signed_response_alg: 'EdDSA',
    application_type: client.redirect_uris.some((uri) => !/^https?:/.test(uri)) ? 'native' : 'web',
    tenant_id: client.tenant_id,
    first_party: client.first_party,
    tenant_choice: client.tenant_choice,
    role: client.role,
    access_token_ttl_seconds: client.access_token_ttl_seconds,
    refresh_token_ttl_seconds: client.refresh_token_ttl_seconds,
  };
}
