import { Type } from 'typebox';
import { TENANT_PERMISSIONS } from '../../access/permissions.ts';
import type { RoleView } from './role-service.ts';

/** What a custom role may grant: a tenant permission, never a platform one. */
export const TenantPermissionSchema = Type.Union(
  TENANT_PERMISSIONS.map((permission) => Type.Literal(permission)),
);

export const RoleSchema = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  permissions: Type.Array(Type.String()),
  built_in: Type.Boolean({
    description: 'Built-in roles are the same in every tenant and immutable.',
  }),
  created_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toRoleJson(role: RoleView) {
  return {
    name: role.name,
    description: role.description,
    permissions: [...role.permissions],
    built_in: role.built_in,
    created_at: iso(role.created_ms),
    updated_at: iso(role.updated_ms),
  };
}
