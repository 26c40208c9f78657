import { Type } from 'typebox';
import type { Tenant } from './tenant-store.ts';

/** The store's own pattern, repeated in schemas so a bad id is a 400 before any lookup. */
export const TenantIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

export const TenantSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  deleted_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();

export const toTenantJson = (tenant: Tenant) => ({
  id: tenant.id,
  name: tenant.name,
  plan: tenant.plan,
  status: tenant.status,
  created_at: iso(tenant.created_ms),
  updated_at: iso(tenant.updated_ms),
  deleted_at: tenant.deleted_ms === null ? null : iso(tenant.deleted_ms),
});
