import { randomUUID } from 'node:crypto';
import type { Principal } from '../../access/principal.ts';
import { tierOf } from '../../config/plan-tiers.ts';
import type { Config } from '../../config/schema.ts';
import { TesseraError } from '../../platform/errors.ts';
import { withTimeout } from '../../platform/redis.ts';
import { EventErrors } from '../errors.ts';
import { type SharedTenantSlots, SLOT_LEASE_MS } from './redis-tenant-slots.ts';

/** A reserved place for one open subscription; release it once, when it closes (idempotent). */
export interface SubscriptionSlot {
  release(): void;
}

export interface SubscriptionLimits {
  /** Takes a slot for the principal's tenant and credential, or throws 429 subscription_limit_reached. */
  reserve(principal: Principal): Promise<SubscriptionSlot>;
  /** Open subscriptions of a tenant on this node. */
  openOf(tenantId: string): number;
  /** Stops renewing shared leases (the app is closing). */
  close(): void;
}

export interface SharedSlotOptions {
  readonly slots: SharedTenantSlots;
  /** Redis failed or did not answer: the tenant's cap is then counted on this node alone. */
  readonly onError: (error: unknown) => void;
  /** How long an acquire may take before this node decides alone (default 1000 ms). */
  readonly timeoutMs?: number;
}

/** Seconds a refused client waits before trying again: slots free when others close. */
const RETRY_AFTER_SECONDS = 5;

/** The credential a subscription counts against: the API key, or the login session. */
export function credentialOf(principal: Principal): string {
  return principal.apiKeyId !== null
    ? `api_key:${principal.apiKeyId}`
    : `session:${principal.sessionId ?? principal.userId}`;
}

/**
 * Caps concurrent subscriptions (SSE and WebSocket together) per tenant, by its
 * plan, and per credential. Counted in this process, where a slot is spent (a
 * socket, a tailer's fan-out, a buffer) and released exactly when the subscription
 * closes. With Redis (`shared`) a tenant's cap holds across all nodes: each slot is
 * also a lease in Redis, renewed while held, so a node that dies frees its slots
 * within a lease. If Redis fails, each node enforces the cap for itself until it
 * is back (docs/events.md). The per-credential cap is always per node.
 */
export function createSubscriptionLimits(
  settings: Config['subscriptions'],
  planOf: (tenantId: string) => string | Promise<string>,
  shared?: SharedSlotOptions,
): SubscriptionLimits {
  const held = new Map<string, Set<string>>();
  const renewal = shared && setInterval(renewAll, SLOT_LEASE_MS / 3);
  renewal?.unref();

  function renewAll(): void {
    for (const [tenantId, slots] of held) {
      shared?.slots.renew(tenantId, [...slots]).catch(shared.onError);
    }
  }

  /** Takes a shared slot; true also when Redis cannot say (this node's count decides). */
  async function acquireShared(tenantId: string, slotId: string, cap: number): Promise<boolean> {
    if (!shared) return true;
    try {
      const taken = await withTimeout(
        shared.slots.acquire(tenantId, slotId, cap),
        shared.timeoutMs ?? 1000,
      );
      if (taken) {
        const slots = held.get(tenantId) ?? new Set<string>();
        slots.add(slotId);
        held.set(tenantId, slots);
      }
      return taken;
    } catch (error) {
      shared.onError(error);
      return true;
    }
  }

  function releaseShared(tenantId: string, slotId: string): void {
    const slots = held.get(tenantId);
    if (!shared || !slots?.delete(slotId)) return;
    if (slots.size === 0) held.delete(tenantId);
    shared.slots.release(tenantId, slotId).catch(shared.onError);
  }

  const tenants = new Map<string, number>();
  const credentials = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string, delta: number) => {
    const count = (counts.get(key) ?? 0) + delta;
    if (count === 0) counts.delete(key);
    else counts.set(key, count);
  };

  return {
    async reserve(principal) {
      const tenantId = principal.tenantId;
      const credential = credentialOf(principal);
      const tenantCap = settings[`${tierOf(await planOf(tenantId))}_max_per_tenant`];
      // Checked and taken with no await in between: concurrent requests cannot both pass.
      if ((tenants.get(tenantId) ?? 0) >= tenantCap) {
        throw refused(`Tenant ${tenantId} has ${tenantCap} open subscriptions, its plan's most.`, {
          scope: 'tenant',
          limit: tenantCap,
        });
      }
      if ((credentials.get(credential) ?? 0) >= settings.max_per_credential) {
        throw refused(
          `This credential has ${settings.max_per_credential} open subscriptions, the most one may hold.`,
          { scope: 'credential', limit: settings.max_per_credential },
        );
      }
      add(tenants, tenantId, 1);
      add(credentials, credential, 1);
      let released = false;
      const slotId = randomUUID();
      const release = () => {
        if (released) return;
        released = true;
        add(tenants, tenantId, -1);
        add(credentials, credential, -1);
        releaseShared(tenantId, slotId);
      };
      if (!(await acquireShared(tenantId, slotId, tenantCap))) {
        release();
        throw refused(
          `Tenant ${tenantId} has ${tenantCap} open subscriptions across all nodes, its plan's most.`,
          { scope: 'tenant', limit: tenantCap },
        );
      }
      return { release };
    },
    openOf: (tenantId) => tenants.get(tenantId) ?? 0,
    close() {
      if (renewal) clearInterval(renewal);
    },
  };
}

function refused(detail: string, extensions: { scope: string; limit: number }): TesseraError {
  return new TesseraError(
    EventErrors.subscription_limit_reached,
    `${detail} Close one, or retry later.`,
    { extensions, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
  );
}
