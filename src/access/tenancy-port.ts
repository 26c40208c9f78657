import type { AnyKysely } from '../storage/database.ts';

// What access asks of tenancy, which owns tenants and memberships (issue 16 item 1):
// declared here, answered by tenancy's membership store, wired in composition-root.ts.

/** A user's standing in one tenant now: what a credential made by them is worth there. */
export interface MemberStanding {
  /** `active`, `suspended` or `deleted`. */
  readonly tenant_status: string;
  /** The roles as stored; null when the user is no member. */
  readonly roles: readonly string[] | null;
  /** `active` or `deactivated`; null when the user is no member. */
  readonly membership_status: string | null;
}

/**
 * The tenant's state and the membership of `userId` there (none for null), read on
 * `on`; undefined when no tenant has the id.
 */
export type StandingOf = (
  on: AnyKysely,
  tenantId: string,
  userId: string | null,
) => Promise<MemberStanding | undefined>;

/** How many memberships of the tenant name `role`, read in the caller's transaction. */
export type CountMembersWithRole = (
  trx: AnyKysely,
  tenantId: string,
  role: string,
) => Promise<number>;
