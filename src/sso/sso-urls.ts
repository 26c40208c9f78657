import { samlAcsUrl, samlEntityId, samlMetadataUrl } from './saml/saml-federation.ts';

/**
 * Where Tessera is reached for each connection: what an administrator enters at the
 * identity provider. `base` is the public base URL (the OpenID issuer, no trailing /).
 */
export function ssoUrls(base: string, connectionId: string) {
  const id = encodeURIComponent(connectionId);
  return {
    /** Sends a browser to the IdP (SP-initiated sign-in). */
    start: `${base}/sso/${id}/start`,
    /** OpenID Connect: the redirect URI to register at the IdP. */
    oidcRedirectUri: `${base}/sso/oidc/${id}/callback`,
    /** SAML: the SP entity id (the audience the IdP must name). */
    samlEntityId: samlEntityId(base, connectionId),
    /** SAML: the Assertion Consumer Service (HTTP-POST binding). */
    samlAcsUrl: samlAcsUrl(base, connectionId),
    /** SAML: the SP metadata document. */
    samlMetadataUrl: samlMetadataUrl(base, connectionId),
  };
}
