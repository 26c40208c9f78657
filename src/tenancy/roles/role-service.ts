import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { Permission } from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import {
  BUILT_IN_ROLE_DESCRIPTIONS,
  type CustomRolePermissions,
  isRole,
  permissionsOf,
  ROLES,
} from '../../access/roles.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { type CustomRole, type CustomRoleChanges, createRoleStore } from './role-store.ts';

/** A role as `GET /api/v1/roles` shows it; built-ins have no times. */
export interface RoleView {
  readonly name: string;
  readonly description: string | null;
  readonly permissions: readonly Permission[];
  readonly built_in: boolean;
  readonly created_ms: number | null;
  readonly updated_ms: number | null;
}

export interface NewCustomRole {
  readonly name: string;
  readonly description?: string | undefined;
  readonly permissions: readonly Permission[];
}

export interface RoleService {
  /** The built-in roles, then the caller's tenant's custom roles by name. */
  list(principal: Principal): Promise<RoleView[]>;
  create(actor: Actor, role: NewCustomRole): Promise<RoleView>;
  update(actor: Actor, name: string, changes: CustomRoleChanges): Promise<RoleView>;
  remove(actor: Actor, name: string): Promise<void>;
}

export interface RoleServiceDeps {
  readonly db: Pick<DatabaseBase, 'kysely' | 'transaction'>;
  readonly audit: AuditLog;
  /** Told of every change once it commits: the tenant's credentials are re-read. */
  readonly changes: CredentialChanges;
  /** Tenancy's: how many members hold a role, counted in the caller's transaction. */
  /** How many memberships of the tenant name `role`, read in the caller's transaction. */
  readonly countMembersWithRole: (
    trx: AnyKysely,
    tenantId: string,
    role: string,
  ) => Promise<number>;
  readonly now?: () => number;
}

/**
 * The named custom roles of a tenant with what they grant, locked until `trx` ends so
 * nobody changes or deletes them between a check and the write it allows. For
 * whoever assigns roles (the RolePolicy, role-policy.ts); names that are not roles are absent.
 */
export async function lockCustomRoles(
  trx: AnyKysely,
  tenantId: string,
  names: readonly string[],
): Promise<CustomRolePermissions> {
  const custom = [...new Set(names.filter((name) => !isRole(name)))];
  const found = await createRoleStore(trx).lock(tenantId, custom);
  return new Map(found.map((role) => [role.name, role.permissions]));
}

const customView = (role: CustomRole): RoleView => ({ ...role, built_in: false });

/** "Nobody can grant a permission they do not hold", for what a role is made to grant. */
function checkPermissionsDelegable(principal: Principal, permissions: readonly Permission[]) {
  const lacking = [...new Set(permissions)].filter((p) => !principal.permissions.has(p));
  if (lacking.length > 0) {
    throw new TesseraError(
      AccessErrors.permission_not_delegable,
      `Your roles do not grant ${lacking.join(', ')}, so no role you define may.`,
      { extensions: { permissions: lacking } },
    );
  }
}

/** Nor may anyone change or delete a role granting more than they hold. */
function checkRoleDelegable(principal: Principal, role: CustomRole): void {
  if (role.permissions.some((permission) => !principal.permissions.has(permission))) {
    throw new TesseraError(
      AccessErrors.role_not_delegable,
      `Your roles do not grant everything the ${role.name} role does.`,
      { extensions: { role: role.name } },
    );
  }
}

function checkNotBuiltIn(name: string): void {
  if (isRole(name)) {
    throw new TesseraError(
      AccessErrors.role_builtin,
      `${name} is a built-in role: it cannot be changed or deleted.`,
      { extensions: { role: name } },
    );
  }
}

function roleNotFound(name: string): TesseraError {
  return new TesseraError(AccessErrors.role_not_found, `This tenant has no role named ${name}.`, {
    extensions: { role: name },
  });
}

/** Custom roles of the caller's tenant; every change is audited in its own transaction. */
export function createRoleService(deps: RoleServiceDeps): RoleService {
  const { db, audit, changes } = deps;

  /** The change, then its audit event last (it holds the log's write lock until commit). */
  async function change<T>(
    actor: Actor,
    action: string,
    name: string,
    write: (trx: AnyKysely, tenantId: string) => Promise<{ result: T; details: object }>,
  ): Promise<T> {
    const tenantId = actor.principal.tenantId;
    const result = await db.transaction(async (trx: AnyKysely) => {
      const done = await write(trx, tenantId);
      await audit.inTransaction(trx, actor.audit, [
        {
          tenant_id: tenantId,
          action,
          target: `role:${name}`,
          outcome: 'success',
          details: { ...done.details },
        },
      ]);
      return done.result;
    });
    // After commit, so no node re-reads the old roles and keeps them.
    changes.changed({ kind: 'tenant', id: tenantId });
    return result;
  }

  /** The role as it is, locked; 404 when missing, 403 when it grants more than the caller. */
  async function lockOwn(trx: AnyKysely, principal: Principal, name: string): Promise<CustomRole> {
    const [current] = await createRoleStore(trx).lock(principal.tenantId, [name]);
    if (!current) throw roleNotFound(name);
    checkRoleDelegable(principal, current);
    return current;
  }

  return {
    async list(principal) {
      const builtIn = ROLES.map((name) => ({
        name,
        description: BUILT_IN_ROLE_DESCRIPTIONS[name],
        permissions: [...permissionsOf([name], principal.tenantId)],
        built_in: true,
        created_ms: null,
        updated_ms: null,
      }));
      const custom = await createRoleStore(db.kysely).list(principal.tenantId);
      return [...builtIn, ...custom.map(customView)];
    },

    async create(actor, role) {
      if (isRole(role.name)) {
        throw new TesseraError(
          AccessErrors.role_exists,
          `${role.name} is a built-in role; choose another name.`,
          { extensions: { role: role.name } },
        );
      }
      checkPermissionsDelegable(actor.principal, role.permissions);
      return change(actor, 'role.created', role.name, async (trx, tenantId) => {
        const made = await createRoleStore(trx, deps.now).create(tenantId, role);
        if (!made.ok) {
          throw new TesseraError(
            AccessErrors.role_exists,
            `This tenant has a role named ${role.name}.`,
            { extensions: { role: role.name } },
          );
        }
        const created = made.role;
        return { result: customView(created), details: { permissions: created.permissions } };
      });
    },

    async update(actor, name, update) {
      checkNotBuiltIn(name);
      if (update.permissions) checkPermissionsDelegable(actor.principal, update.permissions);
      return change(actor, 'role.updated', name, async (trx, tenantId) => {
        const before = await lockOwn(trx, actor.principal, name);
        const after = await createRoleStore(trx, deps.now).update(tenantId, name, update);
        if (!after) throw roleNotFound(name);
        return {
          result: customView(after),
          details: { permissions: after.permissions, previous_permissions: before.permissions },
        };
      });
    },

    async remove(actor, name) {
      checkNotBuiltIn(name);
      await change(actor, 'role.deleted', name, async (trx, tenantId) => {
        const current = await lockOwn(trx, actor.principal, name);
        // Read under the row lock: an assignment of this role either committed before
        // (and is counted) or waits, then finds the role gone (RolePolicy.normalize).
        const usage = {
          members: await deps.countMembersWithRole(trx, tenantId, name),
          api_keys: await identityIn(trx).apiKeys.countUnrevokedWithRole(tenantId, name),
        };
        if (usage.members > 0 || usage.api_keys > 0) {
          throw new TesseraError(
            AccessErrors.role_in_use,
            `${usage.members} member(s) and ${usage.api_keys} API key(s) hold the ${name} role; ` +
              'give them other roles (or revoke the keys) first.',
            { extensions: { role: name, ...usage } },
          );
        }
        await createRoleStore(trx).remove(tenantId, name);
        return { result: undefined, details: { permissions: current.permissions } };
      });
    },
  };
}
