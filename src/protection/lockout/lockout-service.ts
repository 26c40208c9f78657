import type { Expression } from 'kysely';
import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { canonicalAddress } from '../../platform/cidr.ts';
import { TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { accountEntries, ipEntry } from './lockout-audit.ts';
import { LockoutErrors } from './lockout-errors.ts';
import { ipDelayMs, type LockoutSettings, windowCutoff } from './lockout-policy.ts';
import { createLockoutStore, type IpFailures, type Page } from './lockout-store.ts';

export interface LockoutAdminDeps {
  readonly settings: LockoutSettings;
  readonly db: Pick<DatabaseBase, 'kysely' | 'transaction'>;
  readonly audit: AuditLog;
  // Tenancy's and identity's answers (they own memberships and users), wired in
  // composition-root.ts.
  /** The live tenants of a user, whose trails hear of its unlock. */
  readonly tenantsOf: (userId: string) => Promise<readonly string[]>;
  /** Whether the user belongs to the tenant (any membership state). */
  readonly isMember: (tenantId: string, userId: string) => Promise<boolean>;
  /** A subquery of the ids of the tenant's members, which a tenant's listing is filtered by. */
  readonly memberIds: (tenantId: string) => Expression<{ user_id: string }>;
  /** The emails of the users of these ids that exist. */
  readonly emailsOf: (userIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** Tenancy's rules for acting on an identity (tenancy/memberships/identity-owner.ts). */
  readonly identityRules: IdentityRules;
  readonly now?: (() => number) | undefined;
}

/** Who may act on an identity shared by tenants, and on a member stronger than oneself. */
export interface IdentityRules {
  /** Throws 403 `identity_shared` unless `principal` may change what the identity carries. */
  checkOwnsIdentity(principal: Principal, otherTenants: readonly string[], what: string): void;
  /** Throws 403 `role_not_delegable` when the member's roles outrank the principal's. */
  checkManagesMember(trx: AnyKysely, principal: Principal, userId: string): Promise<void>;
}

export interface LockedAccount {
  readonly user_id: string;
  readonly email: string;
  readonly locked_ms: number;
  readonly locked_until_ms: number;
}

export interface SlowedIp extends IpFailures {
  /** What the IP's next login waits. */
  readonly delay_ms: number;
}

export type LockoutList =
  | { readonly kind: 'user'; readonly items: readonly LockedAccount[] }
  | { readonly kind: 'ip'; readonly items: readonly SlowedIp[] };

export interface LockoutQuery extends Page {
  readonly kind: 'user' | 'ip';
  /** Platform administrators: only this tenant's members. Others: their own tenant, always. */
  readonly tenant_id?: string | undefined;
}

const PLATFORM = 'platform:network';
const isPlatform = (principal: Principal) => principal.permissions.has(PLATFORM);

/**
 * Locked accounts and slowed IPs, for the routes and the CLI. A tenant administrator
 * sees and unlocks its own members only; an account of another tenant is as
 * unknown to it as one that is not locked (404 `lockout_not_found`). Platform
 * administrators (`platform:network`) see every account and every IP.
 */
export function createLockoutAdmin(deps: LockoutAdminDeps) {
  const { settings, db, audit } = deps;
  const now = deps.now ?? Date.now;
  const store = createLockoutStore(db);

  function platformOnly(principal: Principal, what: string): void {
    if (!isPlatform(principal)) {
      throw new TesseraError(
        AccessErrors.permission_denied,
        `${what} needs the ${PLATFORM} permission, which your roles do not grant.`,
        { extensions: { permission: PLATFORM } },
      );
    }
  }

  return {
    async list(actor: Actor, query: LockoutQuery): Promise<LockoutList> {
      const { principal } = actor;
      const page = { after: query.after, limit: query.limit };
      const at = now();
      if (query.kind === 'ip') {
        platformOnly(principal, 'Listing slowed IPs');
        const ips = await store.listIps(windowCutoff(at, settings), settings.max_failures, page);
        return {
          kind: 'ip',
          items: ips.map((ip) => ({ ...ip, delay_ms: ipDelayMs(ip.failures, settings) })),
        };
      }
      if (query.tenant_id !== undefined && query.tenant_id !== principal.tenantId) {
        platformOnly(principal, "Listing another tenant's lockouts");
      }
      const tenantId = isPlatform(principal) ? query.tenant_id : principal.tenantId;
      const members = tenantId === undefined ? undefined : deps.memberIds(tenantId);
      const locks = await store.listLockedAccounts(at, page, members);
      const emails = await deps.emailsOf(locks.map((lock) => lock.user_id));
      // A user erased since its lock was read is left out, as a join would have.
      const items = locks.flatMap((lock): LockedAccount[] => {
        const email = emails.get(lock.user_id);
        if (email === undefined) return [];
        const { user_id, locked_ms, locked_until_ms } = lock;
        return [{ user_id, email, locked_ms, locked_until_ms }];
      });
      return { kind: 'user', items };
    },

    /** 404 `lockout_not_found` unless the account is locked and (for a tenant) its member. */
    async unlockAccount(actor: Actor, userId: string): Promise<void> {
      const { principal } = actor;
      const visible = isPlatform(principal) || (await deps.isMember(principal.tenantId, userId));
      const tenantIds = visible ? await deps.tenantsOf(userId) : [];
      // The lock guards the identity in every tenant: a tenant's admin lifts it only
      // when the user belongs to that tenant alone (403 `identity_shared`).
      if (visible) {
        const others = tenantIds.filter((id) => id !== principal.tenantId);
        deps.identityRules.checkOwnsIdentity(
          principal,
          isPlatform(principal) ? [] : others,
          'the lock',
        );
      }
      const unlocked =
        visible &&
        (await db.transaction(async (trx: AnyKysely) => {
          await deps.identityRules.checkManagesMember(trx, principal, userId);
          if (!(await createLockoutStore({ kysely: trx }).unlockAccount(userId, now()))) {
            return false;
          }
          await audit.inTransaction(
            trx,
            actor.audit,
            accountEntries(tenantIds, 'account.unlocked', userId, {}),
          );
          return true;
        }));
      if (!unlocked) {
        throw new TesseraError(
          LockoutErrors.lockout_not_found,
          'No account you administer with that id is locked.',
        );
      }
    },

    /** Platform only. 400 for something that is not an IP; 404 when it has no failures counted. */
    async clearIp(actor: Actor, written: string): Promise<void> {
      platformOnly(actor.principal, 'Clearing an IP');
      // Rows are keyed by the canonical spelling (login-lockout.ts): any spelling clears.
      const ip = canonicalAddress(written);
      if (ip === undefined) {
        throw validationFailed(
          [{ path: '/ip', message: 'must be an IPv4 or IPv6 address' }],
          'path',
        );
      }
      const cleared = await db.transaction(async (trx: AnyKysely) => {
        const cutoff = windowCutoff(now(), settings);
        if (!(await createLockoutStore({ kysely: trx }).forgetIp(ip, cutoff))) return false;
        await audit.inTransaction(trx, actor.audit, [ipEntry('login_ip.cleared', ip, {})]);
        return true;
      });
      if (!cleared) {
        throw new TesseraError(
          LockoutErrors.lockout_not_found,
          `No failed logins from ${ip} are being counted.`,
        );
      }
    },
  };
}

export type LockoutAdmin = ReturnType<typeof createLockoutAdmin>;
