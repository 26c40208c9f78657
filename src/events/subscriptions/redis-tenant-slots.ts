import type { Redis } from 'ioredis';

/**
 * A tenant's subscription slots shared by every node through Redis: a sorted set
 * per tenant whose members are slot ids scored by their lease's expiry. A node
 * renews the leases of the slots it holds; a node that dies stops renewing, and its
 * slots expire within one lease instead of leaking. Times are Redis's own (TIME), so
 * nodes' clocks need not agree.
 */
export interface SharedTenantSlots {
  /** Takes one of the tenant's `cap` slots across all nodes; false when all are held. */
  acquire(tenantId: string, slotId: string, cap: number): Promise<boolean>;
  release(tenantId: string, slotId: string): Promise<void>;
  /** Extends the leases of slots this node holds (adding back any that were lost). */
  renew(tenantId: string, slotIds: readonly string[]): Promise<void>;
}

/** How long a slot outlives its node's last renewal. */
export const SLOT_LEASE_MS = 30_000;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Expired leases go first; then a slot is taken only below the cap, atomically.
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

// Re-adds a slot that is gone (its node stalled past the lease, or Redis restarted
// empty): the subscription is still open, so it counts again.
const RENEW = `${NOW}
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

export function createRedisTenantSlots(
  redis: Redis,
  keyPrefix = 'tessera:subscriptions:tenant:',
): SharedTenantSlots {
  const key = (tenantId: string) => keyPrefix + tenantId;
  return {
    async acquire(tenantId, slotId, cap) {
      const taken = await redis.eval(
        ACQUIRE,
        1,
        key(tenantId),
        String(cap),
        String(SLOT_LEASE_MS),
        slotId,
      );
      return taken === 1;
    },
    async release(tenantId, slotId) {
      await redis.zrem(key(tenantId), slotId);
    },
    async renew(tenantId, slotIds) {
      if (slotIds.length === 0) return;
      await redis.eval(RENEW, 1, key(tenantId), String(SLOT_LEASE_MS), ...slotIds);
    },
  };
}
