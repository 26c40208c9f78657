import type { AuditContext } from '../access/audit-context.ts';

/** `success`: the change was made; `failure`: it was attempted and refused; `denied`: no permission. */
export type AuditOutcome = 'success' | 'failure' | 'denied';

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];

/** The entity of every tenant that holds its audit trail. No client can append to it. */
export const AUDIT_ENTITY = '$audit';

/**
 * The event log partition (the events' `tenant_id`) holding a tenant's `$audit`
 * entity. Not the tenant's own: its event routes (`events:read`) never show the
 * trail, which holds addresses and emails and is for `audit:read` only, and the
 * trail counts toward neither its stats nor its storage quota. Tenant ids are
 * slugs, so no tenant can ever be called this.
 */
export function auditPartition(tenantId: string): string {
  return `${AUDIT_ENTITY}:${tenantId}`;
}

export interface AuditEntry {
  /** Whose `$audit` entity records it: the tenant the change is about. */
  readonly tenant_id: string;
  /** `resource.verb`, e.g. `user.created`, `api_key.revoked`, `login.failed`. */
  readonly action: string;
  /** What it was done to, as `kind:id` (`user:0f3c...`), or null. */
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  /** Anything else worth knowing; keys that look like secrets are never stored. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** A successful change to a user, as recorded in `tenantId`'s trail. */
export function userEntry(
  tenantId: string,
  action: string,
  userId: string,
  details: Readonly<Record<string, unknown>> = {},
): AuditEntry {
  return { tenant_id: tenantId, action, target: `user:${userId}`, outcome: 'success', details };
}

/** The payload of an audit event, as stored and as `GET /api/v1/audit` returns it. */
export interface AuditRecord {
  readonly action: string;
  readonly actor: string | null;
  readonly actor_type: AuditContext['actor_type'];
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly request_id: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

// Belt and braces: callers never pass secrets, and if one ever does it is dropped.
const SECRET_KEY = /pass(word|phrase)?|secret|token|^key$|private|otp|^code$|hash/i;

/** `details` without anything whose name suggests secret material, at any depth. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  const kept: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (!SECRET_KEY.test(key)) kept[key] = withoutSecrets(inner);
  }
  return kept;
}

export function auditRecord(context: AuditContext, entry: AuditEntry): AuditRecord {
  return {
    action: entry.action,
    actor: context.actor,
    actor_type: context.actor_type,
    target: entry.target,
    outcome: entry.outcome,
    ip: context.ip,
    user_agent: context.user_agent,
    request_id: context.request_id,
    details: withoutSecrets(entry.details ?? {}) as Record<string, unknown>,
  };
}
