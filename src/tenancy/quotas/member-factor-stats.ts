import { identityIn } from '../../identity/identity-port.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';

/** How a tenant's active members stand on second factors (issue 18 item 6, in `/stats`). */
export interface MemberFactorStats {
  readonly members_with_totp: number;
  readonly members_with_passkeys: number;
  readonly members_with_any_factor: number;
  readonly members_without_factor: number;
}

/**
 * Four aggregate queries whatever the tenant's size: tenancy names its active members
 * as a subquery, identity counts the factors among them.
 */
export function createMemberFactorStats(db: { readonly kysely: AnyKysely }) {
  return {
    async of(tenantId: string): Promise<MemberFactorStats> {
      const members = createMembershipStore(db);
      const counts = await identityIn(db.kysely).factors.countsAmong(
        members.activeMemberIds(tenantId),
      );
      const active = await members.countActive(tenantId);
      return {
        members_with_totp: counts.with_totp,
        members_with_passkeys: counts.with_passkeys,
        members_with_any_factor: counts.with_any,
        // Read apart from the counts: never below zero if a member joined in between.
        members_without_factor: Math.max(0, active - counts.with_any),
      };
    },
  };
}

export type MemberFactorStatsService = ReturnType<typeof createMemberFactorStats>;
