import type { FastifyRequest } from 'fastify';

/** Who acted and from where: the same for every entry one request or CLI run writes. */
export interface AuditContext {
  /** User id, API key id, `cli`, `startup`, or null when nobody was authenticated. */
  readonly actor: string | null;
  /** `system`: the server itself, acting on its configuration at start-up. */
  readonly actor_type: 'user' | 'api_key' | 'oauth_client' | 'cli' | 'system' | 'anonymous';
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly request_id: string | null;
}

/** What the Tessera CLI writes as: an operator at the machine, not an HTTP client. */
export const CLI_AUDIT_CONTEXT: AuditContext = Object.freeze({
  actor: 'cli',
  actor_type: 'cli',
  ip: null,
  user_agent: null,
  request_id: null,
});

/** The server at start-up, acting on its environment (TESSERA_ADMIN_EMAIL). */
export const STARTUP_AUDIT_CONTEXT: AuditContext = Object.freeze({
  actor: 'startup',
  actor_type: 'system',
  ip: null,
  user_agent: null,
  request_id: null,
});

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
        : principal.kind === 'oauth_client'
          ? (principal.clientId ?? null)
          : principal.userId
      : null,
    actor_type: principal ? principal.kind : 'anonymous',
    ip: request.ip,
    user_agent: typeof agent === 'string' ? agent.slice(0, MAX_USER_AGENT) : null,
    request_id: String(request.id),
  };
}
