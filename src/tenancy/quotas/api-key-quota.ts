import type { ApiKeyStore } from '../../access/api-keys/api-key-store.ts';
import { quotaExceeded } from './quota-exceeded.ts';

/**
 * Refuses a new API key when the tenant already holds `limit` live ones. Call it in
 * the transaction that creates the key, with `keys` on that transaction: the count is
 * taken with the tenant locked, so concurrent creates cannot together overshoot.
 */
export async function checkApiKeyQuota(
  keys: Pick<ApiKeyStore, 'lockAndCountLive'>,
  tenantId: string,
  limit: number,
): Promise<void> {
  if (limit <= 0) return;
  const live = await keys.lockAndCountLive(tenantId);
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
