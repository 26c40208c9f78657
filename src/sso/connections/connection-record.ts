import type { ClaimNames } from '../federated-identity.ts';
import type { OidcSettings } from '../oidc/oidc-settings.ts';
import type { SamlSettings } from '../saml/saml-settings.ts';

export type ConnectionType = 'oidc' | 'saml';

/** One IdP group (claim or attribute value) and what a member in it gets. */
export interface GroupRule {
  readonly group: string;
  /** Roles granted in the tenant (built-in or the tenant's custom ones). */
  readonly roles: readonly string[];
  /** Team ids of the tenant the member is placed in. */
  readonly teams: readonly string[];
}

/** How an IdP's answer becomes a member, re-applied at every sign-in. */
export interface ConnectionMapping {
  readonly claims: ClaimNames;
  /** Create the account and membership on first sign-in (just in time). */
  readonly jit: boolean;
  /** The roles of a member in none of the mapped groups. */
  readonly default_roles: readonly string[];
  readonly groups: readonly GroupRule[];
}

/** A connection as the service and routes see it; the OIDC client secret stays sealed. */
export interface SsoConnection {
  readonly id: string;
  readonly tenant_id: string;
  readonly type: ConnectionType;
  readonly name: string;
  readonly enabled: boolean;
  /** Set for `oidc` connections. */
  readonly oidc: OidcSettings | null;
  /** Set for `saml` connections. */
  readonly saml: SamlSettings | null;
  /** Email domains (lower-case) whose addresses are sent here. */
  readonly domains: readonly string[];
  readonly mapping: ConnectionMapping;
  /** SAML: an asserted email may link an existing account. OIDC uses `email_verified`. */
  readonly trusted: boolean;
  /** SAML: unsolicited responses are accepted. */
  readonly idp_initiated: boolean;
  readonly created_by: string | null;
  readonly created_ms: number;
  readonly updated_ms: number;
}

/** What the caller may set, protocol settings already checked. */
export interface ConnectionSettings {
  readonly name: string;
  readonly enabled: boolean;
  readonly oidc: OidcSettings | null;
  readonly saml: SamlSettings | null;
  readonly domains: readonly string[];
  readonly mapping: ConnectionMapping;
  readonly trusted: boolean;
  readonly idp_initiated: boolean;
}
