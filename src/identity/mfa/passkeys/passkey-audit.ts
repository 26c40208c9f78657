import type { AuditEntry } from '../../../audit/audit-entry.ts';
import type { Passkey } from './passkey-store.ts';

/** `mfa.passkey_registered`, `_renamed`, `_removed`: in the tenant the owner acted in. */
export function passkeyEntry(
  tenantId: string,
  action: 'registered' | 'renamed' | 'removed',
  passkey: Pick<Passkey, 'id' | 'user_id' | 'name' | 'device_type'>,
): AuditEntry {
  return {
    tenant_id: tenantId,
    action: `mfa.passkey_${action}`,
    target: `user:${passkey.user_id}`,
    outcome: 'success',
    details: { credential_id: passkey.id, name: passkey.name, device_type: passkey.device_type },
  };
}
