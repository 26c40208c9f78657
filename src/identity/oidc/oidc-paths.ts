import { JWKS_PATH } from '../tokens/well-known-routes.ts';

/**
 * Where the OpenID Provider's endpoints live, relative to the issuer (which has no
 * path): all under /oauth2 but discovery and the JWKS, which are at /.well-known.
 */
export const OIDC_ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userinfo',
  jwks: JWKS_PATH,
  revocation: '/oauth2/revoke',
  introspection: '/oauth2/introspect',
  end_session: '/oauth2/logout',
} as const;

/** The provider's own paths besides those (discovery, the end-session confirmation). */
export const OIDC_DISCOVERY_PATH = '/.well-known/openid-configuration';
export const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server';
export const END_SESSION_CONFIRM_PATH = `${OIDC_ROUTES.end_session}/confirm`;
export const END_SESSION_SUCCESS_PATH = `${OIDC_ROUTES.end_session}/success`;

/** The hosted pages of one authorization request (an oidc-provider interaction). */
export const INTERACTION_PREFIX = '/oauth2/interaction';
export const interactionPath = (uid: string): string => `${INTERACTION_PREFIX}/${uid}`;
