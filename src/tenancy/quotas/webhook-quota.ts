import type { AnyKysely } from '../../storage/database.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { quotaExceeded } from './quota-exceeded.ts';

/**
 * Refuses a new webhook endpoint when the tenant already holds `limit` of them (enabled
 * or not). Call it in `trx`, the transaction that creates the endpoint, with
 * `countEndpoints` reading on it: the tenant's row is locked first, so concurrent
 * creators count one after another, and each count (a later statement) sees the
 * endpoint the one before added.
 */
export async function checkWebhookQuota(
  trx: AnyKysely,
  countEndpoints: (tenantId: string) => Promise<number>,
  tenantId: string,
  limit: number,
): Promise<void> {
  if (limit <= 0) return;
  await createTenantStore({ kysely: trx }).lockForWrites(tenantId);
  const held = await countEndpoints(tenantId);
  if (held >= limit) {
    throw quotaExceeded({
      tenant_id: tenantId,
      quota: 'max_webhooks',
      limit,
      used: held,
      reset_at_ms: null,
    });
  }
}
