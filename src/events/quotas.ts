import type { AppendFailure, AppendLimits } from './model.ts';

export type QuotaRefusal = Extract<AppendFailure, { readonly reason: 'quota_exceeded' }>;

/**
 * What the event store needs of a tenant's quotas, which tenancy keeps: the limits an
 * append is checked against inside its transaction, the count of reads per hour, and
 * the error a refusal answers with. Without it nothing is limited.
 */
export interface EventQuotas {
  /** The tenant's append limits (0: unlimited), from the node's cache: no lookup per append. */
  appendLimits(tenantId: string): AppendLimits | Promise<AppendLimits>;
  /** Counts one read toward the tenant's hourly quota; throws the refusal when it is used up. */
  countQuery(tenantId: string): Promise<void>;
  /** The error for an append a quota refused (nothing was written). */
  appendRefused(tenantId: string, refusal: QuotaRefusal): Error;
}
