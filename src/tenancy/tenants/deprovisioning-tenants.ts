import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

/** A live, active tenant that deactivates members idle at its IdP (`sso_deprovision_days`). */
export interface DeprovisioningTenant {
  readonly tenant_id: string;
  readonly days: number;
  /** Break-glass administrators: never deactivated by it. */
  readonly break_glass: readonly string[];
}

/** The tenants with SSO deprovisioning on (migration 0016), by id. */
export async function deprovisioningTenants(
  on: AnyKysely,
  tenantId?: string,
): Promise<DeprovisioningTenant[]> {
  const kysely: Kysely<Pick<Tables, 'tenants'>> = on;
  let query = kysely
    .selectFrom('tenants')
    .select(['id', 'sso_deprovision_days', 'sso_break_glass'])
    .where('deleted_ms', 'is', null)
    .where('status', '=', 'active')
    .where('sso_deprovision_days', 'is not', null)
    .orderBy('id');
  if (tenantId !== undefined) query = query.where('id', '=', tenantId);
  const rows = await query.execute();
  return rows.map((row) => ({
    tenant_id: row.id,
    days: Number(row.sso_deprovision_days),
    break_glass: JSON.parse(row.sso_break_glass) as string[],
  }));
}
