import { Type } from 'typebox';
import { RoleNameSchema } from '../../access/role-name-schema.ts';
import { ssoUrls } from '../sso-urls.ts';
import type { SsoConnection } from './connection-record.ts';
import { CONNECTION_LIMITS } from './connection-rules.ts';

// The shapes of /sso/connections. What ties fields together (an issuer that answers
// discovery, a certificate that parses, roles of the tenant no stronger than the
// caller's, teams that exist) is the service's: 400 invalid_sso_connection.

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Domains = Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
  maxItems: CONNECTION_LIMITS.domains,
  description:
    'Email domains whose addresses sign in here (POST /auth/sso/discover); each claimed by one connection only.',
});
const ClaimName = Type.String({ minLength: 1, maxLength: 512 });

const Oidc = Type.Object(
  {
    issuer: Type.String({ minLength: 1, maxLength: 2000, description: 'Read by discovery.' }),
    client_id: Type.String({ minLength: 1, maxLength: 255 }),
    client_secret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Stored encrypted; never returned. Required on creation.',
      }),
    ),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
        minItems: 1,
        maxItems: 20,
        description: 'Must include openid; default openid email profile.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Saml = Type.Object(
  {
    metadata_xml: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256 * 1024,
        description: "The IdP's metadata document (entity id, sign-in URL and certificates).",
      }),
    ),
    idp_entity_id: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    sso_url: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2000, description: 'HTTP-Redirect binding.' }),
    ),
    certificates: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 16 * 1024 }), {
        minItems: 1,
        maxItems: 5,
        description: 'PEM signing certificates of the IdP (more than one during a rotation).',
      }),
    ),
    want_assertions_signed: Type.Optional(
      Type.Boolean({
        description:
          'Default true: the assertion must be signed. false: the whole response must be signed instead.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Roles = Type.Array(RoleNameSchema, { maxItems: CONNECTION_LIMITS.rolesPerGroup });

const Mapping = Type.Object(
  {
    claims: Type.Optional(
      Type.Object(
        {
          email: Type.Optional(ClaimName),
          email_verified: Type.Optional(ClaimName),
          name: Type.Optional(ClaimName),
          groups: Type.Optional(ClaimName),
        },
        { additionalProperties: false },
      ),
    ),
    jit: Type.Optional(
      Type.Boolean({
        description: 'Create the account and membership at first sign-in (default true).',
      }),
    ),
    default_roles: Type.Optional(Roles),
    groups: Type.Optional(
      Type.Array(
        Type.Object(
          {
            group: Type.String({ minLength: 1, maxLength: 256 }),
            roles: Type.Optional(Roles),
            teams: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
                maxItems: CONNECTION_LIMITS.teamsPerGroup,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: CONNECTION_LIMITS.groups },
      ),
    ),
  },
  { additionalProperties: false },
);

const Common = {
  name: Name,
  enabled: Type.Optional(Type.Boolean()),
  domains: Type.Optional(Domains),
  oidc: Type.Optional(Oidc),
  saml: Type.Optional(Saml),
  trusted: Type.Optional(
    Type.Boolean({
      description:
        'SAML: the email the IdP asserts may link an existing account (OIDC uses email_verified).',
    }),
  ),
  idp_initiated: Type.Optional(
    Type.Boolean({ description: 'SAML: accept unsolicited (IdP-initiated) responses.' }),
  ),
  mapping: Type.Optional(Mapping),
};

export const ConnectionBody = Type.Object(
  { type: Type.Union([Type.Literal('oidc'), Type.Literal('saml')]), ...Common },
  { additionalProperties: false },
);

export const ConnectionChangesBody = Type.Object(
  { ...Common, name: Type.Optional(Name) },
  { additionalProperties: false, minProperties: 1 },
);

export const Connection = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  type: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  domains: Type.Array(Type.String()),
  oidc: Type.Union([
    Type.Object({
      issuer: Type.String(),
      client_id: Type.String(),
      scopes: Type.Array(Type.String()),
      redirect_uri: Type.String({ description: 'Register this at the IdP.' }),
    }),
    Type.Null(),
  ]),
  saml: Type.Union([
    Type.Object({
      idp_entity_id: Type.String(),
      sso_url: Type.String(),
      certificates: Type.Array(Type.String()),
      want_assertions_signed: Type.Boolean(),
      sp_entity_id: Type.String({ description: 'The audience: enter it at the IdP.' }),
      acs_url: Type.String({ description: 'The Assertion Consumer Service URL (HTTP-POST).' }),
      metadata_url: Type.String({ description: "Tessera's SP metadata for this connection." }),
    }),
    Type.Null(),
  ]),
  trusted: Type.Boolean(),
  idp_initiated: Type.Boolean(),
  mapping: Type.Object({
    claims: Type.Object({
      email: Type.String(),
      email_verified: Type.String(),
      name: Type.String(),
      groups: Type.String(),
    }),
    jit: Type.Boolean(),
    default_roles: Type.Array(Type.String()),
    groups: Type.Array(
      Type.Object({
        group: Type.String(),
        roles: Type.Array(Type.String()),
        teams: Type.Array(Type.String()),
      }),
    ),
  }),
  start_url: Type.String({
    description: 'Send a browser here, with ?redirect_uri=, to sign in through this connection.',
  }),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_ms: Type.Integer(),
  updated_ms: Type.Integer(),
});

/** The JSON of a connection, with what the IdP's administrator must enter. */
export function toConnectionJson(connection: SsoConnection, base: string) {
  const urls = ssoUrls(base, connection.id);
  return {
    id: connection.id,
    tenant_id: connection.tenant_id,
    type: connection.type,
    name: connection.name,
    enabled: connection.enabled,
    domains: [...connection.domains],
    oidc: connection.oidc && {
      issuer: connection.oidc.issuer,
      client_id: connection.oidc.client_id,
      scopes: [...connection.oidc.scopes],
      redirect_uri: urls.oidcRedirectUri,
    },
    saml: connection.saml && {
      idp_entity_id: connection.saml.idp_entity_id,
      sso_url: connection.saml.sso_url,
      certificates: [...connection.saml.certificates],
      want_assertions_signed: connection.saml.want_assertions_signed,
      sp_entity_id: urls.samlEntityId,
      acs_url: urls.samlAcsUrl,
      metadata_url: urls.samlMetadataUrl,
    },
    trusted: connection.trusted,
    idp_initiated: connection.idp_initiated,
    mapping: {
      claims: { ...connection.mapping.claims },
      jit: connection.mapping.jit,
      default_roles: [...connection.mapping.default_roles],
      groups: connection.mapping.groups.map((rule) => ({
        group: rule.group,
        roles: [...rule.roles],
        teams: [...rule.teams],
      })),
    },
    start_url: urls.start,
    created_by: connection.created_by,
    created_ms: connection.created_ms,
    updated_ms: connection.updated_ms,
  };
}
