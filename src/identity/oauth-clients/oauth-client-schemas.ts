import { Type } from 'typebox';
import { RoleNameSchema } from '../../access/role-name-schema.ts';
import type { OAuthClientRecord } from './oauth-client-record.ts';
import { CLIENT_LIMITS } from './oauth-client-rules.ts';

// The shapes of /oauth/clients. The rules that tie fields together (which grant types
// go with which type, when redirect URIs and a role are needed, what a URI may be)
// are the service's: 400 invalid_client_metadata (oauth-client-rules.ts).

const ClientTypeSchema = Type.Union([Type.Literal('confidential'), Type.Literal('public')]);
const GrantTypeSchema = Type.Union([
  Type.Literal('authorization_code'),
  Type.Literal('refresh_token'),
  Type.Literal('client_credentials'),
]);

const Uris = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
    maxItems: CLIENT_LIMITS.redirectUris,
    uniqueItems: true,
    description,
  });

const Settings = {
  name: Type.String({ minLength: 1, maxLength: CLIENT_LIMITS.nameLength }),
  redirect_uris: Uris(
    'Exact URIs the provider may send a user back to; 1-10 with authorization_code, else none.',
  ),
  post_logout_redirect_uris: Uris('Exact URIs a user may be sent to after signing out; 0-10.'),
  scopes: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    minItems: 1,
    maxItems: 64,
    uniqueItems: true,
    description: 'openid, profile, email, offline_access and tenant permission names.',
  }),
  role: { ...RoleNameSchema, description: 'The role a client_credentials client acts with.' },
  first_party: Type.Boolean({ description: 'Skips the consent page.' }),
  tenant_choice: Type.Boolean({
    description: 'Users may sign in to any tenant they belong to and pick it.',
  }),
  access_token_ttl_seconds: Type.Integer(CLIENT_LIMITS.accessTokenTtl),
  refresh_token_ttl_seconds: Type.Integer(CLIENT_LIMITS.refreshTokenTtl),
};

export const ClientRegistrationBody = Type.Object(
  {
    name: Settings.name,
    type: ClientTypeSchema,
    grant_types: Type.Array(GrantTypeSchema, { minItems: 1, uniqueItems: true }),
    scopes: Settings.scopes,
    redirect_uris: Type.Optional(Settings.redirect_uris),
    post_logout_redirect_uris: Type.Optional(Settings.post_logout_redirect_uris),
    role: Type.Optional(Settings.role),
    first_party: Type.Optional(Settings.first_party),
    tenant_choice: Type.Optional(Settings.tenant_choice),
    access_token_ttl_seconds: Type.Optional(Settings.access_token_ttl_seconds),
    refresh_token_ttl_seconds: Type.Optional(Settings.refresh_token_ttl_seconds),
  },
  { additionalProperties: false },
);

/** Everything but the type and the grant types, which a client keeps for life. */
export const ClientChangesBody = Type.Object(
  {
    name: Type.Optional(Settings.name),
    redirect_uris: Type.Optional(Settings.redirect_uris),
    post_logout_redirect_uris: Type.Optional(Settings.post_logout_redirect_uris),
    scopes: Type.Optional(Settings.scopes),
    role: Type.Optional(Settings.role),
    first_party: Type.Optional(Settings.first_party),
    tenant_choice: Type.Optional(Settings.tenant_choice),
    access_token_ttl_seconds: Type.Optional(Settings.access_token_ttl_seconds),
    refresh_token_ttl_seconds: Type.Optional(Settings.refresh_token_ttl_seconds),
  },
  { additionalProperties: false, minProperties: 1 },
);

const iso = (ms: number) => new Date(ms).toISOString();
const nullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const OAuthClient = Type.Object({
  id: Type.String({ description: 'The client_id.' }),
  tenant_id: Type.String(),
  name: Type.String(),
  type: ClientTypeSchema,
  grant_types: Type.Array(GrantTypeSchema),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  role: Type.Union([Type.String(), Type.Null()]),
  first_party: Type.Boolean(),
  tenant_choice: Type.Boolean(),
  access_token_ttl_seconds: Type.Integer(),
  refresh_token_ttl_seconds: Type.Integer(),
  secret_rotated_at: { ...nullableTime, description: 'When the current secret was issued.' },
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const ClientSecret = Type.String({
  description: 'The secret (`tcs_...`): store it now, it is never shown again.',
});

/** A rotation's answer, one of the two showing a secret. */
export const OAuthClientWithSecret = Type.Object({
  ...OAuthClient.properties,
  client_secret: ClientSecret,
});

/** A registration's answer: with the secret for a confidential client, none for a public one. */
export const RegisteredOAuthClient = Type.Object({
  ...OAuthClient.properties,
  client_secret: Type.Optional(ClientSecret),
});

export const toOAuthClient = (record: OAuthClientRecord) => ({
  id: record.id,
  tenant_id: record.tenant_id,
  name: record.name,
  type: record.type,
  grant_types: [...record.grant_types],
  redirect_uris: [...record.redirect_uris],
  post_logout_redirect_uris: [...record.post_logout_redirect_uris],
  scopes: [...record.scopes],
  role: record.role,
  first_party: record.first_party,
  tenant_choice: record.tenant_choice,
  access_token_ttl_seconds: record.access_token_ttl_seconds,
  refresh_token_ttl_seconds: record.refresh_token_ttl_seconds,
  secret_rotated_at: record.secret_rotated_ms === null ? null : iso(record.secret_rotated_ms),
  created_by: record.created_by,
  created_at: iso(record.created_ms),
  updated_at: iso(record.updated_ms),
});
