import type { OAuthClientRow } from '../../storage/tables.ts';

export const CLIENT_TYPES = ['confidential', 'public'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** What a client may be registered with and changed to: everything its owner chooses. */
export interface OAuthClientSettings {
  readonly name: string;
  readonly redirect_uris: readonly string[];
  readonly post_logout_redirect_uris: readonly string[];
  readonly scopes: readonly string[];
  /** The role a `client_credentials` client acts with; null for the others. */
  readonly role: string | null;
  /** Skips the consent page: the tenant's own applications. */
  readonly first_party: boolean;
  /** Users may sign in to any tenant they belong to and pick it; false: this tenant only. */
  readonly tenant_choice: boolean;
  readonly access_token_ttl_seconds: number;
  readonly refresh_token_ttl_seconds: number;
}

/** A new client: its settings, and what never changes after registration. */
export interface NewOAuthClient extends OAuthClientSettings {
  readonly type: ClientType;
  readonly grant_types: readonly GrantType[];
}

/** What listings and the routes show: never the secret, never its digest. */
export interface OAuthClientRecord extends NewOAuthClient {
  /** The client_id. */
  readonly id: string;
  readonly tenant_id: string;
  /** When the current secret was issued; null for public clients. */
  readonly secret_rotated_ms: number | null;
  readonly created_by: string | null;
  readonly created_ms: number;
  readonly updated_ms: number;
}

/** The record with its secret's digest: for the provider's lookup only. */
export interface OAuthClientWithSecret extends OAuthClientRecord {
  /** SHA-256 (hex) of the secret; null for public clients. */
  readonly secret_digest: string | null;
}

/** The columns' JSON text and 0/1 back into arrays and booleans. */
export function recordOf(row: Omit<OAuthClientRow, 'secret_digest'>): OAuthClientRecord {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    type: row.type,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    post_logout_redirect_uris: JSON.parse(row.post_logout_redirect_uris) as string[],
    grant_types: JSON.parse(row.grant_types) as GrantType[],
    scopes: JSON.parse(row.scopes) as string[],
    role: row.role,
    first_party: row.first_party === 1,
    tenant_choice: row.tenant_choice === 1,
    access_token_ttl_seconds: row.access_token_ttl_seconds,
    refresh_token_ttl_seconds: row.refresh_token_ttl_seconds,
    secret_rotated_ms: row.secret_rotated_ms,
    created_by: row.created_by,
    created_ms: row.created_ms,
    updated_ms: row.updated_ms,
  };
}

/** Settings as columns: arrays as JSON text, booleans as 0 or 1. */
export function columnsOf(settings: Partial<OAuthClientSettings>): Partial<OAuthClientRow> {
  const columns: Partial<OAuthClientRow> = {};
  const json = (value: readonly string[]) => JSON.stringify(value);
  if (settings.name !== undefined) columns.name = settings.name;
  if (settings.redirect_uris) columns.redirect_uris = json(settings.redirect_uris);
  if (settings.post_logout_redirect_uris) {
    columns.post_logout_redirect_uris = json(settings.post_logout_redirect_uris);
  }
  if (settings.scopes) columns.scopes = json(settings.scopes);
  if (settings.role !== undefined) columns.role = settings.role;
  if (settings.first_party !== undefined) columns.first_party = settings.first_party ? 1 : 0;
  if (settings.tenant_choice !== undefined) columns.tenant_choice = settings.tenant_choice ? 1 : 0;
  if (settings.access_token_ttl_seconds !== undefined) {
    columns.access_token_ttl_seconds = settings.access_token_ttl_seconds;
  }
  if (settings.refresh_token_ttl_seconds !== undefined) {
    columns.refresh_token_ttl_seconds = settings.refresh_token_ttl_seconds;
  }
  return columns;
}
