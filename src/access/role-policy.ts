import type { AnyKysely } from '../storage/database.ts';
import type { Principal } from './principal.ts';

// A port: identity (API keys, sessions) and tenancy (members, invitations, users) ask
// it; tenancy answers it (tenancy/roles/role-policy.ts), since custom roles are a
// tenant's, and the composition root hands it to identity.

/**
 * What role names mean in a tenant, for whoever assigns roles (members, users, API
 * keys). Reads through `trx`, so the check and the write that follows see one state.
 */
export interface RolePolicy {
  /** The roles as stored: known in the tenant, deduplicated, canonical order. Throws 400 `invalid_roles`. */
  normalize(trx: AnyKysely, tenantId: string, roles: readonly string[]): Promise<string[]>;
  /**
   * No escalation through delegation: throws 403 `role_not_delegable` when any of
   * `roles` grants a permission `principal` does not hold. Call it for the roles
   * being given and for the roles being taken away.
   */
  checkDelegable(
    trx: AnyKysely,
    principal: Principal,
    tenantId: string,
    roles: readonly string[],
  ): Promise<void>;
}
