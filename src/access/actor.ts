import type { FastifyRequest } from 'fastify';
import type { AuditContext } from './audit-context.ts';
import { auditContextOf } from './audit-context.ts';
import type { Principal } from './principal.ts';

/**
 * Who is acting, for a service: the principal decides what is allowed, the audit
 * context says who and from where in the audit events the change appends.
 */
export interface Actor {
  readonly principal: Principal;
  readonly audit: AuditContext;
}

/** The actor of an authenticated request (any route but the public ones). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.principal) throw new Error('actorOf needs an authenticated route');
  return { principal: request.principal, audit: auditContextOf(request) };
}
