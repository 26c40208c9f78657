import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';

/**
 * One entry per tenant the account belongs to, so each of its administrators sees
 * the lock in their own trail; the platform's (`system`) for an account of none.
 */
export function accountEntries(
  tenantIds: readonly string[],
  action: 'account.locked' | 'account.unlocked',
  userId: string,
  details: Record<string, unknown>,
): AuditEntry[] {
  const tenants = tenantIds.length > 0 ? [...new Set(tenantIds)] : [SYSTEM_TENANT];
  return tenants.map((tenantId) => ({
    tenant_id: tenantId,
    action,
    target: `user:${userId}`,
    outcome: 'success',
    details,
  }));
}

/** A client IP belongs to no tenant: its slowing and clearing are the platform's. */
export function ipEntry(
  action: 'login_ip.slowed' | 'login_ip.cleared',
  ip: string,
  details: Record<string, unknown>,
): AuditEntry {
  return { tenant_id: SYSTEM_TENANT, action, target: `ip:${ip}`, outcome: 'success', details };
}
