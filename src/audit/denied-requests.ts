import type { FastifyInstance } from 'fastify';
import { isTesseraError } from '../platform/errors.ts';
import { IpFilterErrors } from '../protection/ip-filter-errors.ts';
import type { AuditLog } from './audit-log.ts';
import { auditContextOf } from './request-context.ts';

/**
 * Records every request refused with 403 to an authenticated caller in the caller's
 * tenant's trail (`request.denied`), before the refusal is sent, so the trail is
 * complete by the time the client knows. Requests that never authenticated (401)
 * name no tenant to record them in; abuse protection deals with those. Nor are
 * refusals by an IP filter (`ip_blocked`): a blocked client repeating a request must
 * not write to the trail each time; `ip_filter_blocks_total` counts them.
 */
export function auditDeniedRequests(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onError', async (request, _reply, error) => {
    const principal = request.principal;
    if (!principal || !isTesseraError(error) || error.status !== 403) return;
    if (error.code === IpFilterErrors.ip_blocked) return;
    try {
      await audit.record(auditContextOf(request), [
        {
          tenant_id: principal.tenantId,
          action: 'request.denied',
          target: `route:${request.method} ${request.routeOptions.url ?? request.url}`,
          outcome: 'denied',
          details: { error: error.code, ...(error.extensions ?? {}) },
        },
      ]);
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
