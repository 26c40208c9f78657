import type { FastifyInstance } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { isTesseraError } from '../../platform/errors.ts';
import { TenancyErrors } from '../errors.ts';
import { HOUR_MS, windowStart } from './quotas.ts';

/** Beyond this many remembered refusals, those of windows that ended are dropped. */
const PRUNE_ABOVE = 1024;

/**
 * Records `quota.exceeded` (outcome `failure`) in the refused tenant's trail, once per
 * tenant, quota and window on each node: the first refusal says the tenant hit the
 * limit; the thousands a client may send after it would only flood the trail and put
 * a write on every refused request. Quotas without a window (storage, API keys) are
 * recorded at most once an hour. A trail that cannot be written leaves the 429 as it is.
 */
export function auditQuotaRefusals(
  app: FastifyInstance,
  audit: Pick<AuditLog, 'record'>,
  now: () => number = Date.now,
): void {
  // `tenant quota window-end` → window end, for pruning.
  const recorded = new Map<string, number>();
  app.addHook('onError', async (request, _reply, error) => {
    const principal = request.principal;
    if (!principal || !isTesseraError(error) || error.code !== TenancyErrors.quota_exceeded) return;
    const { quota, limit, reset_at } = error.extensions ?? {};
    const at = now();
    const until =
      typeof reset_at === 'string' ? Date.parse(reset_at) : windowStart(at, HOUR_MS) + HOUR_MS;
    const key = `${principal.tenantId} ${String(quota)} ${until}`;
    if (recorded.has(key)) return;
    if (recorded.size >= PRUNE_ABOVE) {
      for (const [old, end] of recorded) if (end <= at) recorded.delete(old);
    }
    recorded.set(key, until);
    try {
      await audit.record(auditContextOf(request), [
        {
          tenant_id: principal.tenantId,
          action: 'quota.exceeded',
          target: `tenant:${principal.tenantId}`,
          outcome: 'failure',
          details: {
            quota,
            limit,
            reset_at: reset_at ?? null,
            route: `${request.method} ${request.routeOptions.url ?? request.url}`,
          },
        },
      ]);
    } catch (auditError) {
      recorded.delete(key);
      request.log.error({ err: auditError }, 'could not record a quota refusal in the audit trail');
    }
  });
}
