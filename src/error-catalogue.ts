import { AccessErrors } from './access/errors.ts';
import { BackupErrors } from './backup/errors.ts';
import { EmailErrors } from './email/errors.ts';
import { EventErrors } from './events/errors.ts';
import { IdentityErrors } from './identity/errors.ts';
import { MfaErrors } from './identity/mfa/mfa-errors.ts';
import { OAuthClientErrors } from './identity/oauth-clients/oauth-client-errors.ts';
import { TokenErrors } from './identity/tokens/token-errors.ts';
import { LedgerErrors } from './ledger/errors.ts';
import { HttpErrors } from './platform/http-errors.ts';
import { IpFilterErrors } from './protection/ip-filters/ip-filter-errors.ts';
import { LockoutErrors } from './protection/lockout/lockout-errors.ts';
import { RateLimitErrors } from './protection/rate-limits/rate-limit-errors.ts';
import { SsoErrors } from './sso/errors.ts';
import { TenancyErrors } from './tenancy/errors.ts';
import { WebhookErrors } from './webhooks/errors.ts';

/**
 * Every domain's error codes in one static list: what docs/errors.md documents, and
 * what test/errors-documented.test.ts checks it against, without looking for files
 * by name. A domain that declares codes (`defineErrorCodes`) adds its set here; the
 * test fails on a registered code missing from this list.
 */
export const ERROR_CATALOGUE = {
  HttpErrors,
  EventErrors,
  IdentityErrors,
  MfaErrors,
  TokenErrors,
  OAuthClientErrors,
  SsoErrors,
  WebhookErrors,
  AccessErrors,
  TenancyErrors,
  LockoutErrors,
  IpFilterErrors,
  RateLimitErrors,
  BackupErrors,
  LedgerErrors,
  EmailErrors,
} as const;

/** The codes of the catalogue. */
export function cataloguedCodes(): Set<string> {
  return new Set(Object.values(ERROR_CATALOGUE).flatMap((codes) => Object.values(codes)));
}
