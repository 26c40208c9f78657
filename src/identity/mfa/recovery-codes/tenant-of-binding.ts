import type { Kysely } from 'kysely';
import { SYSTEM_TENANT } from '../../../access/roles.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import type { Tables } from '../../../storage/tables.ts';
import type { FactorAttempt } from '../second-factor.ts';

type BindingTables = Pick<Tables, 'sessions' | 'mfa_tokens'>;

/**
 * The tenant whose trail a second-factor use goes to: the session's (step-up) or the
 * pending login's (its mfa_token, not yet spent while the factor is checked); the
 * platform's if neither is found.
 */
export async function tenantOfBinding(
  db: AnyKysely,
  binding: FactorAttempt['binding'],
): Promise<string> {
  const kysely: Kysely<BindingTables> = db;
  const row =
    binding.kind === 'session'
      ? await kysely
          .selectFrom('sessions')
          .select('tenant_id')
          .where('id', '=', binding.sessionId)
          .executeTakeFirst()
      : await kysely
          .selectFrom('mfa_tokens')
          .select('tenant_id')
          .where('digest', '=', binding.mfaTokenDigest)
          .executeTakeFirst();
  return row?.tenant_id ?? SYSTEM_TENANT;
}
