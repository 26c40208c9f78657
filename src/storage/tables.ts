import type { Generated } from 'kysely';

/**
 * The Kysely types of the control-plane tables, declared once (issue 16 item 1). Every
 * table has one owning domain, named above it: only that domain's stores query it.
 * Another domain asks the owner (its service, or inside a shared transaction a port
 * taking `trx`). A store types its handle with the tables it owns, e.g.
 * `Kysely<Pick<Tables, 'users'>>`, so a query of anyone else's table does not compile.
 *
 * Times are epoch milliseconds (`*_ms`), bigint on PostgreSQL read back as numbers
 * (storage/postgres/int8-as-number.ts). The event and backup tables are declared by
 * their own stores (src/events/, src/backup/).
 */

// ── identity ─────────────────────────────────────────────────────────────────────

/** Migration 0004. Email unique, stored trimmed and lower-cased. */
export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  /** Null for users who never set one. */
  password_hash: string | null;
  status: 'active' | 'disabled';
  /** 0 or 1. */
  email_verified: number;
  created_ms: number;
  updated_ms: number;
}

/** Migrations 0004 and 0006: one login. */
export interface SessionRow {
  id: string;
  user_id: string;
  tenant_id: string;
  created_ms: number;
  expires_ms: number;
  revoked_ms: number | null;
  revoked_reason: string | null;
  last_used_ms: number | null;
  ip: string | null;
  user_agent: string | null;
  /** Migration 0013: JSON array of RFC 8176 methods the sign-in proved. */
  amr: Generated<string>;
  /** Migration 0013: when the sign-in happened; null on older sessions (then `created_ms`). */
  auth_time_ms: number | null;
  /** Migration 0013: the last proof of a password or a factor in this session. */
  reauth_ms: number | null;
  /** Migration 0013: the last second-factor proof in this session (step-up). */
  second_factor_ms: number | null;
  /** Migration 0015: the OAuth grant this session was started for (OpenID Provider). */
  oauth_grant_id: string | null;
  /** Migration 0015: that grant's client. */
  oauth_client_id: string | null;
}

/** Migration 0015: oidc-provider's adapter storage (identity/oidc/oidc-adapter.ts). */
export interface OidcPayloadRow {
  model: string;
  id: string;
  /** The provider's JSON, as given. */
  payload: string;
  grant_id: string | null;
  uid: string | null;
  account_id: string | null;
  expires_ms: number | null;
  consumed_ms: number | null;
}

/** Migration 0004: single use, only the digest stored. */
export interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  created_ms: number;
  expires_ms: number;
  used_ms: number | null;
}

/** Migration 0012: single-use email tokens, only the digest stored. */
export interface EmailTokenRow {
  digest: string;
  purpose: 'verify_email' | 'reset_password' | 'magic_link';
  user_id: string;
  tenant_id: string | null;
  /** The address it was sent to; the token is void once the account's differs. */
  email: string;
  redirect_uri: string | null;
  created_ms: number;
  expires_ms: number;
}

/** Migration 0013: a user's TOTP factor; the secret sealed with the master key. */
export interface TotpFactorRow {
  user_id: string;
  secret: string;
  /** Null while enrollment awaits its first code. */
  confirmed_ms: number | null;
  /** The RFC 6238 time step of the last code accepted. */
  last_step: number | null;
  created_ms: number;
}

/** Migration 0013: one recovery code, only its digest stored. */
export interface RecoveryCodeRow {
  user_id: string;
  digest: string;
  created_ms: number;
  used_ms: number | null;
}

/** Migration 0013: a WebAuthn credential. */
export interface PasskeyRow {
  /** The credential ID, base64url. */
  id: string;
  user_id: string;
  /** The tenant of the session that registered it: where a passwordless sign-in lands. */
  tenant_id: string | null;
  name: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number;
  /** JSON array of AuthenticatorTransport values. */
  transports: Generated<string>;
  /** `singleDevice` or `multiDevice`. */
  device_type: string;
  /** 0 or 1. */
  backed_up: number;
  aaguid: string | null;
  created_ms: number;
  last_used_ms: number | null;
}

/** Migration 0013: a WebAuthn ceremony's challenge, single use. */
export interface WebauthnChallengeRow {
  id: string;
  challenge: string;
  purpose: 'register' | 'login' | 'second_factor';
  user_id: string | null;
  session_id: string | null;
  mfa_token_digest: string | null;
  created_ms: number;
  expires_ms: number;
}

/** Migration 0013: a login awaiting its second factor; only the digest stored. */
export interface MfaTokenRow {
  digest: string;
  user_id: string;
  tenant_id: string;
  /** JSON array: the first factor's RFC 8176 methods. */
  amr: string;
  ip: string | null;
  user_agent: string | null;
  created_ms: number;
  expires_ms: number;
}

/** Migration 0004: the private key sealed with the master key. */
export interface SigningKeyRow {
  kid: string;
  algorithm: string;
  public_jwk: string;
  private_key_encrypted: string;
  created_ms: number;
  retired_ms: number | null;
}

// ── tenancy ──────────────────────────────────────────────────────────────────────

/** Migration 0004: soft-deleted only (`deleted_ms`), so an id is never reused. */
export interface TenantRow {
  id: string;
  name: string;
  plan: string;
  status: 'active' | 'suspended';
  created_ms: number;
  updated_ms: number;
  deleted_ms: number | null;
  /** Migration 0012: 0 or 1; login refuses members whose email is unverified. */
  require_verified_email: Generated<number>;
  /** Migration 0012: JSON array of URLs a magic link may return its user to. */
  redirect_uris: Generated<string>;
  /** Migration 0013: whose sign-in needs a second factor. */
  mfa_required: Generated<'off' | 'admins' | 'all'>;
  /** Migration 0016: 0 or 1; members sign in through SSO only (break-glass admins excepted). */
  sso_enforced: Generated<number>;
  /** Migration 0016: JSON array of user ids exempt from `sso_enforced`. */
  sso_break_glass: Generated<string>;
  /** Migration 0016: deactivate members with no SSO sign-in for this many days; null: never. */
  sso_deprovision_days: Generated<number | null>;
}

/** Migrations 0004 and 0006: a user's roles in one tenant. */
export interface MembershipRow {
  tenant_id: string;
  user_id: string;
  /** A JSON array of role names, compact (no spaces). */
  roles: string;
  /** `active` unless written otherwise (the column's default). */
  status: Generated<'active' | 'deactivated'>;
  created_ms: number;
}

/** Migration 0006: names unique per tenant regardless of case. */
export interface TeamRow {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Migration 0006: gone with the team (cascade). */
export interface TeamMemberRow {
  tenant_id: string;
  team_id: string;
  user_id: string;
  created_ms: number;
}

/** Migration 0010: one pending invitation per tenant and user. */
export interface InvitationRow {
  id: string;
  tenant_id: string;
  user_id: string;
  /** The JSON array of role names the membership will hold. */
  roles: string;
  invited_by: string | null;
  created_ms: number;
  expires_ms: number;
  /** Migration 0012: SHA-256 of the token its email carries; null when none was sent. */
  token_digest: string | null;
  /** Migration 0012: the JSON array of team ids joined on acceptance. */
  team_ids: Generated<string>;
}

/** Migration 0006: a tenant's limits when set explicitly (otherwise its plan's). */
export interface TenantQuotaRow {
  tenant_id: string;
  max_events_per_day: number;
  max_storage_bytes: number;
  max_queries_per_hour: number;
  max_api_keys: number;
  max_projections: number;
  max_pipelines: number;
  /** Migration 0017. */
  max_webhooks: number;
  updated_ms: number;
}

/** Migration 0006: counters per quota and window. */
export interface QuotaUsageRow {
  tenant_id: string;
  quota: string;
  window_start_ms: number;
  used: number;
}

// ── API keys (identity) and custom roles (tenancy) ─────────────────────────────────

/** Migration 0004: bound to one tenant and one role; only the secret's digest stored. */
export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  role: string;
  prefix: string;
  secret_hash: string;
  created_by: string | null;
  created_ms: number;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
}

/**
 * Migration 0014: a tenant's OAuth client of the OpenID Provider. The array columns
 * hold JSON text; `first_party` and `tenant_choice` are 0 or 1.
 */
export interface OAuthClientRow {
  /** The client_id. */
  id: string;
  tenant_id: string;
  name: string;
  type: 'confidential' | 'public';
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  scopes: string;
  /** What a client_credentials client acts with; null for the others. */
  role: string | null;
  first_party: number;
  tenant_choice: number;
  access_token_ttl_seconds: number;
  refresh_token_ttl_seconds: number;
  /** SHA-256 of the secret (hex); null for public clients. */
  secret_digest: string | null;
  secret_rotated_ms: number | null;
  created_by: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Migration 0006: a tenant's custom role. */
export interface TenantRoleRow {
  tenant_id: string;
  name: string;
  description: string | null;
  /** A JSON array of permission names, canonical order. */
  permissions: string;
  created_ms: number;
  updated_ms: number;
}

// ── protection ───────────────────────────────────────────────────────────────────

/** Migration 0008: `tenant_id` null for a global entry. */
export interface IpFilterRow {
  id: string;
  tenant_id: string | null;
  /** Canonical text (src/platform/cidr.ts). */
  cidr: string;
  action: 'allow' | 'block';
  reason: string;
  created_by: string | null;
  created_by_type: string;
  created_ms: number;
}

/** Migration 0009: gone with the user (cascade). */
export interface AccountLockoutRow {
  user_id: string;
  failures: number;
  window_start_ms: number;
  locked_ms: number | null;
  locked_until_ms: number | null;
}

/** Migration 0009. */
export interface IpLoginFailureRow {
  ip: string;
  failures: number;
  window_start_ms: number;
  last_failure_ms: number;
}

// ── email ────────────────────────────────────────────────────────────────────────

/** Migration 0012: one message, from its enqueueing transaction to its delivery. */
export interface EmailOutboxRow {
  id: string;
  /** Whose branding it wears; null for the platform's. */
  tenant_id: string | null;
  template: string;
  recipient: string;
  subject: string;
  /** Null once sent: the bodies carry one-time links. */
  text_body: string | null;
  html_body: string | null;
  message_id: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: Generated<number>;
  next_attempt_ms: number;
  lease_owner: string | null;
  lease_until_ms: number | null;
  last_error: string | null;
  created_ms: number;
  finished_ms: number | null;
}

/** Migration 0012: a tenant's branding, one JSON object. */
export interface EmailSettingsRow {
  tenant_id: string;
  branding: string;
  updated_ms: number;
}

/** Migration 0012: a tenant's own template for one kind of message. */
export interface EmailTemplateRow {
  tenant_id: string;
  kind: string;
  subject: string;
  text_body: string;
  html_body: string;
  updated_ms: number;
}

// ── events (subscriptions) and storage ───────────────────────────────────────────

/** Migration 0011: single-use subscription tickets, only the digest stored. */
export interface SubscriptionTicketRow {
  digest: string;
  tenant_id: string;
  credential_kind: 'session' | 'api_key';
  credential: string;
  user_id: string | null;
  expires_ms: number;
}

/**
 * Migration 0001: deployment-wide settings as key/value text. Storage's (the deployment
 * id); the backup scheduler keeps its slot claim here too (src/backup/scheduler.ts).
 */
export interface TesseraMetaRow {
  key: string;
  value: string;
}

// ── sso ──────────────────────────────────────────────────────────────────────────

/** Migration 0016: a tenant's identity provider. */
export interface SsoConnectionRow {
  id: string;
  tenant_id: string;
  type: 'oidc' | 'saml';
  name: string;
  /** 0 or 1. */
  enabled: number;
  /** JSON: the protocol's settings (no secret). */
  settings: string;
  /** JSON: claim names, group → role and team mappings, default role, just-in-time creation. */
  mapping: string;
  /** The OIDC client secret, sealed (identity/tokens/secret-box.ts); null for SAML. */
  secret_box: string | null;
  /** 0 or 1: a SAML connection may link an existing account by its asserted email. */
  trusted: number;
  /** 0 or 1: unsolicited (IdP-initiated) SAML responses are accepted. */
  idp_initiated: number;
  created_by: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Migration 0016: an email domain a connection claims (lower-case). */
export interface SsoDomainRow {
  domain: string;
  connection_id: string;
  tenant_id: string;
}

/** Migration 0016: an IdP subject linked to an account, per connection. */
export interface SsoIdentityRow {
  connection_id: string;
  subject: string;
  user_id: string;
  tenant_id: string;
  created_ms: number;
  last_login_ms: number;
}

/** Migration 0016: a sign-in on its way through an IdP; single use. */
export interface SsoRequestRow {
  id: string;
  connection_id: string;
  purpose: 'sign_in' | 'test';
  /** SHA-256 (base64url) of the browser cookie that started it. */
  browser_digest: string;
  /** JSON: what the protocol checks on return (nonce, PKCE verifier; AuthnRequest ID). */
  protocol_state: string;
  interaction_uid: string | null;
  redirect_uri: string | null;
  /** JSON: the IdP's answer, once verified, waiting for the browser; null before. */
  outcome: string | null;
  created_ms: number;
  expires_ms: number;
}

/** Migration 0016: a SAML assertion id seen (replay cache), until it expires. */
export interface SsoAssertionRow {
  connection_id: string;
  assertion_id: string;
  expires_ms: number;
}

// ── webhooks ─────────────────────────────────────────────────────────────────────

/** Migration 0017: a tenant's webhook receiver and where its delivery stands. */
export interface WebhookEndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  /** 0 or 1. */
  enabled: number;
  disabled_reason: 'manual' | 'gone' | 'failing' | null;
  /** JSON: `{ event_types, entity_prefix, platform_events }`. */
  filters: string;
  secret_box: string;
  previous_secret_box: string | null;
  previous_secret_until_ms: number | null;
  /** Every position up to this one was delivered or did not match. */
  cursor_position: number;
  /** Failed attempts of the event at the head (0 when none is failing). */
  attempts: Generated<number>;
  next_attempt_ms: Generated<number>;
  failing_since_ms: number | null;
  last_delivered_ms: number | null;
  lease_owner: string | null;
  lease_until_ms: number | null;
  created_by: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Migration 0017: one delivery attempt, for the delivery log. */
export interface WebhookAttemptRow {
  id: string;
  endpoint_id: string;
  tenant_id: string;
  message_id: string;
  source: 'events' | 'platform' | null;
  event_id: string | null;
  position: number | null;
  type: string;
  trigger: 'scheduled' | 'retry' | 'ping';
  attempt: number;
  outcome: 'delivered' | 'failed';
  status: number | null;
  latency_ms: number;
  response: string | null;
  error: string | null;
  created_ms: number;
}

// ── ledger ───────────────────────────────────────────────────────────────────────

/**
 * Migration 0018: a signed statement that a partition's chain (an `events.tenant_id`
 * value) reached `hash` at `position`, holding `chained` events. Never updated.
 * (`events.hash` and `ledger_heads` belong to the events store, written by raw SQL in
 * its append transaction.)
 */
export interface LedgerCheckpointRow {
  partition: string;
  position: number;
  hash: string;
  chained: number;
  time_ms: number;
  kid: string;
  /** Compact JWS (EdDSA) over `{tenant_id: partition, position, hash, timestamp}`. */
  jws: string;
}

/** Every control-plane table by name, with its owning domain. */
export interface Tables {
  /** identity */
  users: UserRow;
  /** identity */
  sessions: SessionRow;
  /** identity */
  refresh_tokens: RefreshTokenRow;
  /** identity */
  signing_keys: SigningKeyRow;
  /** identity */
  email_tokens: EmailTokenRow;
  /** identity */
  totp_factors: TotpFactorRow;
  /** identity */
  recovery_codes: RecoveryCodeRow;
  /** identity */
  passkeys: PasskeyRow;
  /** identity */
  webauthn_challenges: WebauthnChallengeRow;
  /** identity */
  mfa_tokens: MfaTokenRow;
  /** identity */
  oidc_payloads: OidcPayloadRow;
  /** email */
  email_outbox: EmailOutboxRow;
  /** email */
  email_settings: EmailSettingsRow;
  /** email */
  email_templates: EmailTemplateRow;
  /** tenancy */
  tenants: TenantRow;
  /** tenancy */
  memberships: MembershipRow;
  /** tenancy */
  teams: TeamRow;
  /** tenancy */
  team_members: TeamMemberRow;
  /** tenancy */
  invitations: InvitationRow;
  /** tenancy */
  tenant_quotas: TenantQuotaRow;
  /** tenancy */
  quota_usage: QuotaUsageRow;
  /** identity */
  api_keys: ApiKeyRow;
  /** identity */
  oauth_clients: OAuthClientRow;
  /** tenancy */
  tenant_roles: TenantRoleRow;
  /** sso */
  sso_connections: SsoConnectionRow;
  /** sso */
  sso_domains: SsoDomainRow;
  /** sso */
  sso_identities: SsoIdentityRow;
  /** sso */
  sso_requests: SsoRequestRow;
  /** sso */
  sso_assertions: SsoAssertionRow;
  /** webhooks */
  webhook_endpoints: WebhookEndpointRow;
  /** webhooks */
  webhook_attempts: WebhookAttemptRow;
  /** ledger */
  ledger_checkpoints: LedgerCheckpointRow;
  /** protection */
  ip_filters: IpFilterRow;
  /** protection */
  account_lockouts: AccountLockoutRow;
  /** protection */
  ip_login_failures: IpLoginFailureRow;
  /** events (subscription tickets) */
  subscription_tickets: SubscriptionTicketRow;
  /** storage (deployment settings) */
  tessera_meta: TesseraMetaRow;
}
