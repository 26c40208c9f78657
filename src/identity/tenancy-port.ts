import type { MfaPolicy } from '../access/mfa-policy.ts';
import type { Permission } from '../access/permissions.ts';
import type { AuditEntry } from '../audit/audit-entry.ts';
import type { AnyKysely } from '../storage/database.ts';

// What identity asks of tenancy, which owns tenants and memberships (issue 16 item 1):
// declared here, answered by tenancy's membership store, wired in composition-root.ts.

/** One tenant of a user, with the tenant's state: what a login chooses from. */
export interface UserMembership {
  readonly tenant_id: string;
  readonly roles: string[];
  readonly tenant_status: 'active' | 'suspended';
  readonly tenant_deleted: boolean;
  /** A deactivated membership cannot log in (issue 5). */
  readonly membership_status: 'active' | 'deactivated';
}

/** Every tenant the user belongs to, deleted and suspended ones flagged, by tenant id. */
export type MembershipsOfUser = (userId: string) => Promise<UserMembership[]>;

/** A user's standing in one tenant now: what a session or a key they made is worth there. */
export interface MemberStanding {
  readonly tenant_status: 'active' | 'suspended' | 'deleted';
  /** The roles as stored (any name); null when the user is no member. */
  readonly roles: string[] | null;
  /** Null when the user is no member. */
  readonly membership_status: 'active' | 'deactivated' | null;
  /** The tenant's MFA policy: whose sessions need a second factor (issue 18). */
  readonly mfa_required: MfaPolicy;
}

/**
 * The tenant's state and the user's membership there (none for null: a key without a
 * creator), read on `on` (the database or the caller's transaction); undefined when no
 * tenant has the id.
 */
export type StandingOf = (
  on: AnyKysely,
  tenantId: string,
  userId: string | null,
) => Promise<MemberStanding | undefined>;

/** The user's roles in the tenant as stored (any state), on `on`; undefined when no member. */
export type StoredRolesOf = (
  on: AnyKysely,
  tenantId: string,
  userId: string,
) => Promise<readonly string[] | undefined>;

/**
 * The tenant's limit on live API keys (`max_api_keys`, tenancy's quota), checked in the
 * transaction that creates a key.
 */
export interface ApiKeyQuota {
  /** The limit; 0 for none. */
  limitOf(tenantId: string): Promise<number>;
  /**
   * Throws 429 `quota_exceeded` when the tenant holds `limit` live keys. Locks the
   * tenant in `trx` before `countLive` reads on it, so concurrent creators count in turn.
   */
  check(
    trx: AnyKysely,
    countLive: (tenantId: string) => Promise<number>,
    tenantId: string,
    limit: number,
  ): Promise<void>;
}

/** What the guard asks of a tenant's custom roles. */
export interface CustomRoleLookup {
  /** What `roles` allow in `tenantId`, built-in and custom; unknown names grant nothing. */
  permissionsOf(roles: readonly string[], tenantId: string): Promise<ReadonlySet<Permission>>;
}

/** How a tenant's members sign in (tenancy's `tenants` columns), beside its name. */
export interface TenantSignIn {
  readonly tenant_id: string;
  readonly tenant_name: string;
  /** Login refuses members whose email address is not verified (403 email_not_verified). */
  readonly require_verified_email: boolean;
  /** Where a magic link may send its user back to, exact match; the first is the default. */
  readonly redirect_uris: readonly string[];
  /** Whose sessions need a second factor: nobody, administrators, or everyone (issue 18). */
  readonly mfa_required: MfaPolicy;
  /** Members sign in only through the tenant's SSO connections (issue 20)... */
  readonly sso_enforced: boolean;
  /** ...except these user ids, the break-glass administrators, who keep every login. */
  readonly sso_break_glass: readonly string[];
  /** Members with no SSO sign-in for this many days are deactivated; null: never. */
  readonly sso_deprovision_days: number | null;
}

/** A live tenant's sign-in settings; undefined when no live tenant has the id. */
export type SignInOf = (tenantId: string) => Promise<TenantSignIn | undefined>;

/** The account a self-service sign-up just created, to be placed in a tenant. */
export interface NewAccount {
  readonly user_id: string;
  readonly email: string;
  /** The name of the account's own new tenant (`auth.registration_creates_tenant`). */
  readonly tenant_name?: string | undefined;
}

/**
 * Where a self-registered account goes (`auth.registration = "open"`): tenancy's answer
 * to `auth.registration_tenant`, `registration_role` and `registration_creates_tenant`,
 * in the sign-up's transaction.
 */
export interface NewAccountPlacement {
  /**
   * Throws 503 `registration_unavailable` when the configured tenant or role cannot be
   * used, and 400 `invalid_tenant` for a `tenant_name` that cannot name one. Run for
   * every sign-up, new address or taken, so the two answer alike.
   */
  check(trx: AnyKysely, account: Pick<NewAccount, 'tenant_name'>): Promise<void>;
  /**
   * Makes the account's membership (and its tenant); returns the tenant it joined
   * (null: none) and the audit entries recording it.
   */
  place(
    trx: AnyKysely,
    account: NewAccount,
  ): Promise<{ tenant_id: string | null; entries: AuditEntry[] }>;
}

/**
 * Holds the tenant's row until `trx` ends: a per-tenant count and the write it bounds
 * (the OAuth client limit) are then made by concurrent requests one after another.
 */
export type LockTenant = (trx: AnyKysely, tenantId: string) => Promise<void>;
