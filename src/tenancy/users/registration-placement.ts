import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { userEntry } from '../../audit/audit-entry.ts';
import type { Config } from '../../config/schema.ts';
import type { NewAccount, NewAccountPlacement } from '../../identity/tenancy-port.ts';
import { isTesseraError, TesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';
import { createRolePolicy } from '../roles/role-policy.ts';
import { checkTenantName, createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';

export type RegistrationSettings = Pick<
  Config['auth'],
  'registration_tenant' | 'registration_role' | 'registration_creates_tenant'
>;

/** The plan of a tenant a sign-up creates for itself. */
const SIGN_UP_PLAN = 'free';

/**
 * A new tenant's id from the address's local part and a random suffix
 * (`ada-lovelace-3f9c2a1b`), matching the tenant id pattern: lower-case letters,
 * digits and dashes, starting with a letter or digit, 63 at most.
 */
export function tenantIdFor(email: string): string {
  const base =
    (email.split('@')[0] ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, 40)
      .replace(/-+$/, '') || 'tenant';
  return `${base}-${randomBytes(4).toString('hex')}`;
}

function unavailable(detail: string): TesseraError {
  return new TesseraError(
    TenancyErrors.registration_unavailable,
    `Registration is misconfigured on this server: ${detail}. Its operator must fix auth.registration_tenant or auth.registration_role.`,
  );
}

/**
 * Tenancy's answer to where a self-registered account goes (identity's
 * `NewAccountPlacement`). A `registration_tenant` that is missing or deleted, or a
 * `registration_role` it does not define, is the operator's mistake, found at
 * request time because either can change while the server runs (a tenant deleted, a
 * custom role removed): 503 `registration_unavailable`, nothing written, the same for
 * every address.
 */
export function createRegistrationPlacement(settings: RegistrationSettings): NewAccountPlacement {
  const policy = createRolePolicy();
  const joining = settings.registration_creates_tenant ? '' : settings.registration_tenant;

  /** The configured tenant's roles for a newcomer, or 503. */
  async function joiningRoles(trx: AnyKysely): Promise<string[]> {
    if (!(await createTenantStore({ kysely: trx }).get(joining))) {
      throw unavailable(`the tenant ${joining} does not exist`);
    }
    try {
      return await policy.normalize(trx, joining, [settings.registration_role]);
    } catch (error) {
      if (!isTesseraError(error) || error.code !== TenancyErrors.invalid_roles) throw error;
      throw unavailable(`the tenant ${joining} has no role ${settings.registration_role}`);
    }
  }

  /** A fresh id no tenant, live or deleted, has (ids are never reused). */
  async function freeTenantId(trx: AnyKysely, email: string): Promise<string> {
    const tenants = createTenantStore({ kysely: trx });
    for (;;) {
      const id = tenantIdFor(email);
      if (!(await tenants.get(id, { include_deleted: true }))) return id;
    }
  }

  async function createOwnTenant(trx: AnyKysely, account: NewAccount) {
    const id = await freeTenantId(trx, account.email);
    const name = account.tenant_name ?? account.email;
    const tenant = await createTenantRegistry({ kysely: trx }).create({
      id,
      name,
      plan: SIGN_UP_PLAN,
    });
    await grantRoles(trx, id, account.user_id, ['admin']);
    const created = { name: tenant.name, plan: tenant.plan, registered_by: account.user_id };
    const entries: AuditEntry[] = [id, SYSTEM_TENANT_ID].map((trail) => ({
      tenant_id: trail,
      action: 'tenant.created',
      target: `tenant:${id}`,
      outcome: 'success',
      details: created,
    }));
    entries.push(
      userEntry(id, 'user.added', account.user_id, {
        email: account.email,
        roles: ['admin'],
        via: 'registration',
      }),
    );
    return { tenant_id: id, entries };
  }

  return {
    async check(trx, account) {
      if (settings.registration_creates_tenant && account.tenant_name !== undefined) {
        checkTenantName(account.tenant_name);
      }
      if (joining !== '') await joiningRoles(trx);
    },

    async place(trx, account) {
      if (settings.registration_creates_tenant) return createOwnTenant(trx, account);
      if (joining === '') return { tenant_id: null, entries: [] };
      const roles = await grantRoles(trx, joining, account.user_id, await joiningRoles(trx));
      return {
        tenant_id: joining,
        entries: [
          userEntry(joining, 'user.added', account.user_id, {
            email: account.email,
            roles,
            via: 'registration',
          }),
        ],
      };
    },
  };
}
