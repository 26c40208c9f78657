import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { auditContextOf } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { isTesseraError } from '../../platform/errors.ts';
import { IpFilterErrors } from '../ip-filters/ip-filter-errors.ts';
import { type DeniedRequestWindowOptions, deniedRequestWindows } from './denied-request-window.ts';

export interface DeniedRequestAuditOptions
  extends Omit<DeniedRequestWindowOptions, 'count' | 'onError'> {
  /** Where `denied_requests_total` is registered; none in some tests. */
  readonly metrics?: Registry | undefined;
}

/**
 * Records requests refused with 403 to an authenticated caller in the caller's
 * tenant's trail (`request.denied`), before the refusal is sent, so the trail is
 * complete by the time the client knows. Repeats of the same denial are coalesced
 * into one summary row per window (see deniedRequestWindows), so a caller cannot
 * make the trail grow by one row per request; `denied_requests_total`
 * counts every denial, recorded or coalesced. Requests that never authenticated
 * (401) name no tenant to record them in; abuse protection deals with those. Nor are
 * refusals by an IP filter (`ip_blocked`): a blocked client repeating a request must
 * not write to the trail each time; `ip_filter_blocks_total` counts them.
 */
export function auditDeniedRequests(
  app: FastifyInstance,
  audit: Pick<AuditLog, 'record'>,
  options: DeniedRequestAuditOptions = {},
): void {
  const counter = options.metrics
    ? new Counter({
        name: 'denied_requests_total',
        help: 'Requests refused with 403 to an authenticated caller, by whether the audit trail got a row of their own (recorded), a count in a summary row (coalesced), or nothing because the write failed (failed)',
        labelNames: ['audit'] as const,
        registers: [options.metrics],
      })
    : undefined;
  const windows = deniedRequestWindows(audit, {
    ...options,
    count: (outcome) => counter?.inc({ audit: outcome }),
    onError: (error) =>
      app.log.error({ err: error }, 'could not record denied requests in the audit trail'),
  });
  // The summaries of windows still open are written while the database is.
  app.addHook('onClose', () => windows.close());
  app.addHook('onError', async (request, _reply, error) => {
    const principal = request.principal;
    if (!principal || !isTesseraError(error) || error.status !== 403) return;
    if (error.code === IpFilterErrors.ip_blocked) return;
    try {
      await windows.deny(auditContextOf(request), {
        tenant_id: principal.tenantId,
        action: 'request.denied',
        target: `route:${request.method} ${request.routeOptions.url ?? request.url}`,
        outcome: 'denied',
        details: { error: error.code, ...(error.extensions ?? {}) },
      });
    } catch (auditError) {
      // The refusal stands either way; a trail that cannot be written is an
      // operational problem to surface, not a reason to answer 500.
      request.log.error(
        { err: auditError },
        'could not record a denied request in the audit trail',
      );
    }
  });
}
