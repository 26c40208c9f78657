import type { FastifyRequest } from 'fastify';
import type { AuditContext } from './audit-entry.ts';

/** Long enough for any real browser's; a client cannot make audit events grow without bound. */
const MAX_USER_AGENT = 512;

/** The audit context of an HTTP request: its principal (if authenticated), address and id. */
export function auditContextOf(request: FastifyRequest): AuditContext {
  const principal = request.principal;
  const agent = request.headers['user-agent'];
  return {
    actor: principal
      ? principal.kind === 'api_key'
        ? principal.apiKeyId
        : principal.userId
      : null,
    actor_type: principal ? principal.kind : 'anonymous',
    ip: request.ip,
    user_agent: typeof agent === 'string' ? agent.slice(0, MAX_USER_AGENT) : null,
    request_id: String(request.id),
  };
}
