/**
 * Every table a backup holds, parents before children, so rows load in this order
 * without breaking a foreign key. The migrations ledger is not among them: its
 * checksums are per engine, so a restore rebuilds it by migrating the target. A test
 * compares this list with the tables the migrations create: a new table must be
 * added here, or backups would silently leave it out (createBackup also refuses
 * a database holding a table it does not know).
 */
export const BACKUP_TABLES: readonly string[] = [
  'tessera_meta',
  'tenants',
  'users',
  'memberships',
  'sessions',
  'refresh_tokens',
  'signing_keys',
  'api_keys',
  'oauth_clients',
  'teams',
  'team_members',
  'tenant_roles',
  'tenant_quotas',
  'quota_usage',
  'ip_filters',
  'account_lockouts',
  'ip_login_failures',
  'invitations',
  'email_settings',
  'email_templates',
  'email_tokens',
  'totp_factors',
  'recovery_codes',
  'passkeys',
  'webauthn_challenges',
  'mfa_tokens',
  'oidc_payloads',
  'sso_connections',
  'sso_domains',
  'sso_identities',
  'sso_requests',
  'sso_assertions',
  'webhook_endpoints',
  'webhook_attempts',
  'email_outbox',
  'subscription_tickets',
  'event_log_head',
  'event_commits',
  'events',
  'entities',
  'event_types',
  'snapshots',
  // The ledger (migration 0018): each partition's chain head (without it a restored
  // log's next append would chain from the genesis hash) and signed checkpoints.
  'ledger_heads',
  'ledger_checkpoints',
];

/** The ledger of applied migrations: never backed up, rebuilt by the restore. */
export { LEDGER_TABLE } from '../storage/migrate.ts';

/**
 * Rows the migrations themselves create, which an otherwise unused database holds:
 * they do not make a restore target "not empty". SQL conditions that match every
 * other row.
 */
export const BASELINE_EXCLUSIONS: Readonly<Record<string, string>> = {
  tenants: "id <> 'system'",
  event_log_head: 'position <> 0',
};
