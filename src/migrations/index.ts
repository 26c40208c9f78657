import type { Migration } from '../storage/migrate.ts';
import { tesseraMeta } from './0001-tessera-meta.ts';
import { events } from './0002-events.ts';
import { snapshots } from './0003-snapshots.ts';
import { identity } from './0004-identity.ts';
import { credentialChanges } from './0005-credential-changes.ts';
import { organization } from './0006-organization.ts';
import { quotaUsage } from './0007-quota-usage.ts';
import { ipFilters } from './0008-ip-filters.ts';
import { lockouts } from './0009-lockouts.ts';
import { invitations } from './0010-invitations.ts';
import { subscriptionTickets } from './0011-subscription-tickets.ts';
import { email } from './0012-email.ts';
import { mfa } from './0013-mfa.ts';
import { oauthClients } from './0014-oauth-clients.ts';
import { oidc } from './0015-oidc.ts';
import { sso } from './0016-sso.ts';
import { webhooks } from './0017-webhooks.ts';
import { ledger } from './0018-ledger.ts';

/**
 * Every schema change, oldest first. Append only: a landed migration is never edited
 * (the runner refuses a checksum change), a fix is a new migration.
 */
export const MIGRATIONS: readonly Migration[] = [
  tesseraMeta,
  events,
  snapshots,
  identity,
  credentialChanges,
  organization,
  quotaUsage,
  ipFilters,
  lockouts,
  invitations,
  subscriptionTickets,
  email,
  mfa,
  oauthClients,
  oidc,
  sso,
  webhooks,
  ledger,
];
