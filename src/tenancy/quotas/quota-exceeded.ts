import { TesseraError } from '../../platform/errors.ts';
import { TenancyErrors } from '../errors.ts';
import type { QuotaName } from './quotas.ts';

export interface QuotaRefusal {
  readonly tenant_id: string;
  readonly quota: QuotaName;
  readonly limit: number;
  /** Usage when refused, where known (before what the request would have added). */
  readonly used?: number | undefined;
  /** When the quota's window ends (epoch ms); null for quotas without one. */
  readonly reset_at_ms: number | null;
}

const WHAT: { readonly [name in QuotaName]: string } = {
  max_events_per_day: 'events per day',
  max_storage_bytes: 'bytes of stored events',
  max_queries_per_hour: 'queries per hour',
  max_api_keys: 'live API keys',
  max_projections: 'projections',
  max_pipelines: 'pipelines',
  max_webhooks: 'webhook endpoints',
};

/**
 * 429 `quota_exceeded` (RFC 6585 §4) naming the quota, its limit and when it resets.
 * `Retry-After` (RFC 9110 §10.2.3) only for a windowed quota: waiting never frees
 * storage or an API key slot, so a client told to retry would retry for ever.
 */
export function quotaExceeded(refusal: QuotaRefusal, nowMs = Date.now()): TesseraError {
  const { quota, limit, used, reset_at_ms } = refusal;
  const resets =
    reset_at_ms === null
      ? 'It does not reset by itself: free some, or ask for a higher quota.'
      : `It resets at ${new Date(reset_at_ms).toISOString()}.`;
  return new TesseraError(
    TenancyErrors.quota_exceeded,
    `Tenant ${refusal.tenant_id} has used ${used === undefined ? 'all' : used} of its ${limit} ${WHAT[quota]} (${quota}), so the request was refused and changed nothing. ${resets}`,
    {
      extensions: {
        quota,
        limit,
        ...(used === undefined ? {} : { used }),
        reset_at: reset_at_ms === null ? null : new Date(reset_at_ms).toISOString(),
      },
      ...(reset_at_ms === null
        ? {}
        : {
            headers: {
              'retry-after': String(Math.max(1, Math.ceil((reset_at_ms - nowMs) / 1000))),
            },
          }),
    },
  );
}
