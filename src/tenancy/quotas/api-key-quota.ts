import type { AnyKysely } from '../../storage/database.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { quotaExceeded } from './quota-exceeded.ts';

/**
 * Refuses a new API key when the tenant already holds `limit` live ones. Call it in
 * `trx`, the transaction that creates the key, with `countLive` reading on it: the
 * tenant's row is locked first, so concurrent creators count one after another, and
 * each count (a later statement) sees the key the one before added.
 */
export async function checkApiKeyQuota(
  trx: AnyKysely,
  countLive: (tenantId: string) => Promise<number>,
  tenantId: string,
  limit: number,
): Promise<void> {
  if (limit <= 0) return;
  await createTenantStore({ kysely: trx }).lockForWrites(tenantId);
  const live = await countLive(tenantId);
  if (live >= limit) {
    throw quotaExceeded({
      tenant_id: tenantId,
      quota: 'max_api_keys',
      limit,
      used: live,
      reset_at_ms: null,
    });
  }
}
