import type { ClaimNames } from '../federated-identity.ts';
import type { ConnectionType } from './connection-record.ts';

/** A connection as a client sends it (the routes' schema has checked the shapes). */
export interface ConnectionInput {
  readonly type: ConnectionType;
  readonly name: string;
  readonly enabled?: boolean | undefined;
  readonly domains?: readonly string[] | undefined;
  readonly oidc?: OidcInput | undefined;
  readonly saml?: SamlInput | undefined;
  readonly trusted?: boolean | undefined;
  readonly idp_initiated?: boolean | undefined;
  readonly mapping?: MappingInput | undefined;
}

/** A change: any field but the type; `oidc` and `saml` replace the protocol settings whole. */
export type ConnectionChanges = Partial<Omit<ConnectionInput, 'type'>>;

export interface OidcInput {
  readonly issuer: string;
  readonly client_id: string;
  /** Required on creation; on a change, absent keeps the current one. */
  readonly client_secret?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
}

/** Either the IdP's metadata document, or its entity id, sign-in URL and certificates. */
export interface SamlInput {
  readonly metadata_xml?: string | undefined;
  readonly idp_entity_id?: string | undefined;
  readonly sso_url?: string | undefined;
  readonly certificates?: readonly string[] | undefined;
  readonly want_assertions_signed?: boolean | undefined;
}

export interface MappingInput {
  readonly claims?: Partial<ClaimNames> | undefined;
  readonly jit?: boolean | undefined;
  readonly default_roles?: readonly string[] | undefined;
  readonly groups?:
    | readonly {
        readonly group: string;
        readonly roles?: readonly string[] | undefined;
        readonly teams?: readonly string[] | undefined;
      }[]
    | undefined;
}
