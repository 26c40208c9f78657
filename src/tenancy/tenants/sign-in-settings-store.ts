import type { Kysely } from 'kysely';
import type { TenantSignIn } from '../../identity/tenancy-port.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

export type { TenantSignIn } from '../../identity/tenancy-port.ts';

/** What a tenant's administrator may change of how its members sign in (migrations 0012, 0013, 0016). */
export type SignInSettings = Pick<
  TenantSignIn,
  | 'require_verified_email'
  | 'redirect_uris'
  | 'mfa_required'
  | 'sso_enforced'
  | 'sso_break_glass'
  | 'sso_deprovision_days'
>;

type TenantTables = Pick<Tables, 'tenants'>;

/** The sign-in columns of `tenants`, for live (not deleted) tenants. */
export function createSignInSettingsStore(db: AnyKysely) {
  const kysely: Kysely<TenantTables> = db;
  return {
    async get(tenantId: string): Promise<TenantSignIn | undefined> {
      const row = await kysely
        .selectFrom('tenants')
        .select([
          'id',
          'name',
          'require_verified_email',
          'redirect_uris',
          'mfa_required',
          'sso_enforced',
          'sso_break_glass',
          'sso_deprovision_days',
        ])
        .where('id', '=', tenantId)
        .where('deleted_ms', 'is', null)
        .executeTakeFirst();
      return (
        row && {
          tenant_id: row.id,
          tenant_name: row.name,
          require_verified_email: Number(row.require_verified_email) === 1,
          redirect_uris: JSON.parse(row.redirect_uris) as string[],
          mfa_required: row.mfa_required,
          sso_enforced: Number(row.sso_enforced) === 1,
          sso_break_glass: JSON.parse(row.sso_break_glass) as string[],
          sso_deprovision_days:
            row.sso_deprovision_days === null ? null : Number(row.sso_deprovision_days),
        }
      );
    },

    /** False when no live tenant has the id. */
    async change(tenantId: string, changes: Partial<SignInSettings>, nowMs: number) {
      const set: {
        require_verified_email?: number;
        redirect_uris?: string;
        mfa_required?: SignInSettings['mfa_required'];
        sso_enforced?: number;
        sso_break_glass?: string;
        sso_deprovision_days?: number | null;
        updated_ms: number;
      } = { updated_ms: nowMs };
      if (changes.require_verified_email !== undefined) {
        set.require_verified_email = changes.require_verified_email ? 1 : 0;
      }
      if (changes.redirect_uris !== undefined) {
        set.redirect_uris = JSON.stringify(changes.redirect_uris);
      }
      if (changes.mfa_required !== undefined) set.mfa_required = changes.mfa_required;
      if (changes.sso_enforced !== undefined) set.sso_enforced = changes.sso_enforced ? 1 : 0;
      if (changes.sso_break_glass !== undefined) {
        set.sso_break_glass = JSON.stringify(changes.sso_break_glass);
      }
      if (changes.sso_deprovision_days !== undefined) {
        set.sso_deprovision_days = changes.sso_deprovision_days;
      }
      const result = await kysely
        .updateTable('tenants')
        .set(set)
        .where('id', '=', tenantId)
        .where('deleted_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
