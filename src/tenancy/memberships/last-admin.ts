import { TesseraError } from '../../platform/errors.ts';
import { TenancyErrors } from '../errors.ts';
import type { TenantUser, UserAdminStore } from '../users/user-admin-store.ts';

const isActiveAdmin = (user: Pick<TenantUser, 'status' | 'roles'>) =>
  user.status === 'active' && user.roles.includes('admin');

/**
 * 409 `last_admin` when `user` is the tenant's last active admin and the change would
 * end that. Call it with the tenant locked (`store.lockTenant`), so the count read
 * stays true until the change commits: two admins demoting each other cannot both pass.
 */
export async function keepAnAdmin(
  store: UserAdminStore,
  tenantId: string,
  user: Pick<TenantUser, 'id' | 'status' | 'roles'>,
): Promise<void> {
  if (!isActiveAdmin(user) || (await store.otherActiveAdmins(tenantId, user.id)) > 0) return;
  throw new TesseraError(
    TenancyErrors.last_admin,
    'This is the last active admin of the tenant: make another member admin first.',
  );
}
