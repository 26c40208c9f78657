import type { Kysely } from 'kysely';
import {
  isTenantPermission,
  type Permission,
  TENANT_PERMISSIONS,
} from '../../access/permissions.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables, TenantRoleRow } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';

type RoleTables = Pick<Tables, 'tenant_roles'>;

/** A tenant's own role: a name and the tenant permissions it grants. */
export interface CustomRole {
  readonly name: string;
  readonly description: string | null;
  readonly permissions: Permission[];
  readonly created_ms: number;
  readonly updated_ms: number;
}

export interface CustomRoleChanges {
  readonly description?: string | null | undefined;
  readonly permissions?: readonly Permission[] | undefined;
}

export interface RoleStore {
  /** Every custom role of the tenant, by name. */
  list(tenantId: string): Promise<CustomRole[]>;
  /**
   * The named roles that exist, each row locked until the transaction ends: a
   * concurrent change or delete of them waits, so what is read stays true until commit.
   */
  lock(tenantId: string, names: readonly string[]): Promise<CustomRole[]>;
  /** The role made, or refused when the tenant has a role of that name (the primary key decides). */
  create(
    tenantId: string,
    role: { name: string } & CustomRoleChanges,
  ): Promise<{ ok: true; role: CustomRole } | { ok: false; reason: 'role_exists' }>;
  /** The role as changed; undefined when the tenant has none of that name. */
  update(
    tenantId: string,
    name: string,
    changes: CustomRoleChanges,
  ): Promise<CustomRole | undefined>;
  /** True when a role was deleted. */
  remove(tenantId: string, name: string): Promise<boolean>;
}

const COLUMNS = ['name', 'description', 'permissions', 'created_ms', 'updated_ms'] as const;
type Row = Pick<TenantRoleRow, (typeof COLUMNS)[number]>;

/** Permissions stored in canonical order without duplicates, so equal sets are equal JSON. */
export function canonicalPermissions(permissions: readonly string[]): Permission[] {
  return TENANT_PERMISSIONS.filter((permission) => permissions.includes(permission));
}

function toRole(row: Row): CustomRole {
  const stored: unknown = JSON.parse(row.permissions);
  // A permission dropped from the catalogue since the role was saved grants nothing.
  const permissions = Array.isArray(stored)
    ? stored.filter((p): p is Permission => typeof p === 'string' && isTenantPermission(p))
    : [];
  return { ...row, permissions };
}

/** One Kysely store for both engines; pass a transaction to read and write in it. */
export function createRoleStore(db: AnyKysely, now: () => number = Date.now): RoleStore {
  const kysely: Kysely<RoleTables> = db;
  return {
    async list(tenantId) {
      const rows = await kysely
        .selectFrom('tenant_roles')
        .select(COLUMNS)
        .where('tenant_id', '=', tenantId)
        .orderBy('name')
        .execute();
      return rows.map(toRole);
    },

    async lock(tenantId, names) {
      if (names.length === 0) return [];
      // A write that changes nothing takes the row lock on both engines (SQLite holds
      // the database's write lock anyway), which SELECT ... FOR SHARE cannot say on
      // SQLite. On PostgreSQL its trigger announces a tenant change: assigning custom
      // roles is rare enough for that to cost nothing worth measuring.
      const rows = await kysely
        .updateTable('tenant_roles')
        .set((eb) => ({ updated_ms: eb.ref('updated_ms') }))
        .where('tenant_id', '=', tenantId)
        .where('name', 'in', names)
        .returning(COLUMNS)
        .execute();
      return rows.map(toRole);
    },

    async create(tenantId, { name, description, permissions }) {
      const at = now();
      const row = {
        name,
        description: description ?? null,
        permissions: JSON.stringify(canonicalPermissions(permissions ?? [])),
        created_ms: at,
        updated_ms: at,
      };
      try {
        await kysely
          .insertInto('tenant_roles')
          .values({ tenant_id: tenantId, ...row })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { ok: false, reason: 'role_exists' };
      }
      return { ok: true, role: toRole(row) };
    },

    async update(tenantId, name, { description, permissions }) {
      const row = await kysely
        .updateTable('tenant_roles')
        .set({
          updated_ms: now(),
          ...(description === undefined ? {} : { description }),
          ...(permissions === undefined
            ? {}
            : { permissions: JSON.stringify(canonicalPermissions(permissions)) }),
        })
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .returning(COLUMNS)
        .executeTakeFirst();
      return row && toRole(row);
    },

    async remove(tenantId, name) {
      const result = await kysely
        .deleteFrom('tenant_roles')
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
