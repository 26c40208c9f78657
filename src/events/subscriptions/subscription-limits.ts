import type { Principal } from '../../access/principal.ts';
import type { Config } from '../../config/schema.ts';
import { TesseraError } from '../../platform/errors.ts';
import { tierOf } from '../../protection/rate-limit-rules.ts';
import { EventErrors } from '../errors.ts';

/** A reserved place for one open subscription; release it once, when it closes (idempotent). */
export interface SubscriptionSlot {
  release(): void;
}

export interface SubscriptionLimits {
  /** Takes a slot for the principal's tenant and credential, or throws 429 subscription_limit_reached. */
  reserve(principal: Principal): Promise<SubscriptionSlot>;
  /** Open subscriptions of a tenant on this node. */
  openOf(tenantId: string): number;
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
 * plan, and per credential. Counted in this process: a slot is what one node
 * spends (a socket, a tailer's fan-out, a buffer), it is released exactly when the
 * subscription closes, and a node that dies takes its counts with it, so nothing
 * can leak. With several nodes each enforces the caps for itself (docs/events.md).
 */
export function createSubscriptionLimits(
  settings: Config['subscriptions'],
  planOf: (tenantId: string) => string | Promise<string>,
): SubscriptionLimits {
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
      return {
        release() {
          if (released) return;
          released = true;
          add(tenants, tenantId, -1);
          add(credentials, credential, -1);
        },
      };
    },
    openOf: (tenantId) => tenants.get(tenantId) ?? 0,
  };
}

function refused(detail: string, extensions: { scope: string; limit: number }): TesseraError {
  return new TesseraError(
    EventErrors.subscription_limit_reached,
    `${detail} Close one, or retry later.`,
    { extensions, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
  );
}
