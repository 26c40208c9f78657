import { TENANT_PERMISSIONS } from '../../access/permissions.ts';
import { type FieldError, TesseraError } from '../../platform/errors.ts';
import { OAuthClientErrors } from './oauth-client-errors.ts';
import type { NewOAuthClient } from './oauth-client-record.ts';
import { redirectUriProblem } from './redirect-uri-rules.ts';

/** The OpenID Connect scopes a client may ask for, besides the tenant's permissions. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** Bounds shared by the route schemas and the rules below. */
export const CLIENT_LIMITS = {
  nameLength: 100,
  redirectUris: 10,
  accessTokenTtl: { minimum: 60, maximum: 3600 },
  refreshTokenTtl: { minimum: 300, maximum: 7_776_000 },
  /** 30 days. */
  defaultRefreshTokenTtl: 2_592_000,
} as const;

const KNOWN_SCOPES: ReadonlySet<string> = new Set([...OIDC_SCOPES, ...TENANT_PERMISSIONS]);

function uriProblems(
  field: 'redirect_uris' | 'post_logout_redirect_uris',
  client: NewOAuthClient,
): FieldError[] {
  const problems: FieldError[] = [];
  const uris = client[field];
  const needed = field === 'redirect_uris' ? 1 : 0;
  if (!client.grant_types.includes('authorization_code')) {
    if (uris.length > 0) {
      problems.push({
        path: `/${field}`,
        message: 'only a client with authorization_code has any',
      });
    }
    return problems;
  }
  if (uris.length < needed || uris.length > CLIENT_LIMITS.redirectUris) {
    problems.push({
      path: `/${field}`,
      message: `must hold ${needed}-${CLIENT_LIMITS.redirectUris} URIs with authorization_code`,
    });
  }
  for (const [index, uri] of uris.entries()) {
    const problem = redirectUriProblem(uri, client.type);
    if (problem) problems.push({ path: `/${field}/${index}`, message: problem });
  }
  return problems;
}

function grantProblems(client: NewOAuthClient): FieldError[] {
  const grants = client.grant_types;
  const problems: FieldError[] = [];
  if (grants.length === 0) problems.push({ path: '/grant_types', message: 'must not be empty' });
  // A refresh token is issued only beside an authorization code (RFC 6749 §4.4.3:
  // none for client_credentials).
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    problems.push({ path: '/grant_types', message: 'refresh_token needs authorization_code' });
  }
  // A public client cannot authenticate, so it cannot act on its own (RFC 6749 §4.4).
  if (grants.includes('client_credentials') && client.type !== 'confidential') {
    problems.push({
      path: '/grant_types',
      message: 'client_credentials needs a confidential client',
    });
  }
  const machine = grants.includes('client_credentials');
  if (machine && client.role === null) {
    problems.push({ path: '/role', message: 'is required with client_credentials' });
  }
  if (!machine && client.role !== null) {
    problems.push({ path: '/role', message: 'is only for a client with client_credentials' });
  }
  return problems;
}

function settingProblems(client: NewOAuthClient): FieldError[] {
  const problems: FieldError[] = [];
  if (client.name.length < 1 || client.name.length > CLIENT_LIMITS.nameLength) {
    problems.push({ path: '/name', message: `must be 1-${CLIENT_LIMITS.nameLength} characters` });
  }
  for (const [index, scope] of client.scopes.entries()) {
    if (!KNOWN_SCOPES.has(scope)) {
      problems.push({
        path: `/scopes/${index}`,
        message: 'must be openid, profile, email, offline_access or a tenant permission',
      });
    }
  }
  const ttl = (field: 'access_token_ttl_seconds' | 'refresh_token_ttl_seconds') => {
    const { minimum, maximum } =
      field === 'access_token_ttl_seconds'
        ? CLIENT_LIMITS.accessTokenTtl
        : CLIENT_LIMITS.refreshTokenTtl;
    const value = client[field];
    if (!Number.isInteger(value) || value < minimum || value > maximum) {
      problems.push({ path: `/${field}`, message: `must be an integer ${minimum}-${maximum}` });
    }
  };
  ttl('access_token_ttl_seconds');
  ttl('refresh_token_ttl_seconds');
  return problems;
}

/** Every way the client breaks the registry's rules; empty when it breaks none. */
export function clientProblems(client: NewOAuthClient): FieldError[] {
  return [
    ...settingProblems(client),
    ...grantProblems(client),
    ...uriProblems('redirect_uris', client),
    ...uriProblems('post_logout_redirect_uris', client),
  ];
}

/** Throws 400 `invalid_client_metadata` listing every problem, before anything is written. */
export function checkClient(client: NewOAuthClient): void {
  const problems = clientProblems(client);
  if (problems.length === 0) return;
  throw new TesseraError(
    OAuthClientErrors.invalid_client_metadata,
    problems.map((problem) => `${problem.path.slice(1)} ${problem.message}`).join('; '),
    { errors: problems },
  );
}
