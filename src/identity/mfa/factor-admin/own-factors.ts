import type { Principal } from '../../../access/principal.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import { notForApiKeys } from '../../login/not-for-api-keys.ts';
import { createFactorAdminStore } from './factor-admin-store.ts';
import { methodsOf, type SecondFactorMethod } from './factor-methods.ts';

/** What `GET /auth/mfa` tells a user of their own factors: counts, never secrets. */
export interface OwnFactors {
  readonly totp_enabled: boolean;
  readonly passkeys: number;
  readonly recovery_codes_remaining: number;
  readonly methods: SecondFactorMethod[];
}

/** The signed-in user's own second factors (a session's user; API keys have none). */
export function createOwnFactors(db: { readonly kysely: AnyKysely }) {
  return {
    async of(principal: Principal): Promise<OwnFactors> {
      if (principal.kind !== 'user' || principal.userId === null) {
        throw notForApiKeys('have second factors');
      }
      const factors = await createFactorAdminStore(db.kysely).factorsOf(principal.userId);
      return {
        totp_enabled: factors.totp_confirmed_ms !== null,
        passkeys: factors.passkeys.length,
        recovery_codes_remaining: factors.recovery_codes_remaining,
        methods: methodsOf(factors),
      };
    },
  };
}

export type OwnFactorsService = ReturnType<typeof createOwnFactors>;
