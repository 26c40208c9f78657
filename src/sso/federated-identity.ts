/**
 * What an identity provider said about the person who signed in, once the protocol
 * (OpenID Connect or SAML) checked every signature, audience, time and binding. The
 * protocols produce it (oidc/, saml/); provisioning and the test page read it.
 */
export interface FederatedIdentity {
  /** The IdP's stable id of the person: OIDC `sub`, SAML `NameID`. */
  readonly subject: string;
  /** The email address asserted, lower-cased and trimmed; undefined when none. */
  readonly email: string | undefined;
  /**
   * Whether the IdP vouches for the address: OIDC `email_verified === true`; SAML has no
   * such claim, so true only when the connection is marked trusted.
   */
  readonly emailVerified: boolean;
  readonly name: string | undefined;
  /** Group (or role) names from the mapped claim or attribute; empty when none. */
  readonly groups: readonly string[];
  /** RFC 8176 methods the IdP reported (OIDC `amr`); Tessera adds `fed` itself. */
  readonly amr: readonly string[];
  /** Every claim or attribute received, for the admin's test page and for audit. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * How a connection's claims are read. Each field names a claim (OIDC) or attribute
 * (SAML: its Name, e.g. `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress`).
 */
export interface ClaimNames {
  readonly email: string;
  readonly email_verified: string;
  readonly name: string;
  readonly groups: string;
}

export const OIDC_CLAIM_DEFAULTS: ClaimNames = Object.freeze({
  email: 'email',
  email_verified: 'email_verified',
  name: 'name',
  groups: 'groups',
});

export const SAML_CLAIM_DEFAULTS: ClaimNames = Object.freeze({
  email: 'email',
  email_verified: 'email_verified',
  name: 'name',
  groups: 'groups',
});

/** Why a protocol refused an IdP's answer: the trail's reason, never shown in detail to the browser. */
export class FederationRefused extends Error {
  readonly reason: string;
  constructor(reason: string, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.reason = reason;
  }
}
