import { setTimeout as sleepFor } from 'node:timers/promises';
import type { AuditContext } from '../audit/audit-entry.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AnyKysely, DatabaseBase } from '../storage/database.ts';
import type { AuthAttempts } from './auth-attempts.ts';
import { canonicalAddress } from './cidr.ts';
import { accountEntries, ipEntry } from './lockout-audit.ts';
import { ipDelayMs, type LockoutSettings, windowCutoff } from './lockout-policy.ts';
import { createLockoutStore } from './lockout-store.ts';

export interface LoginLockoutDeps {
  readonly settings: LockoutSettings;
  readonly db: Pick<DatabaseBase, 'kysely' | 'transaction'>;
  readonly audit: AuditLog;
  /** Told of every lock this node makes (`lockouts_total`). */
  readonly attempts: Pick<AuthAttempts, 'locked'>;
  readonly now?: (() => number) | undefined;
  /** How a slowed login waits; tests record the delays instead of waiting. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** A known account whose password was wrong, with the tenants whose trails hear of its lock. */
export interface FailedAccount {
  readonly user_id: string;
  readonly tenant_ids: readonly string[];
}

/** What password logins consult and report: the brute-force defence of issue 6. */
export interface LoginLockout {
  /** Waits before a login from `ip` is answered, as long as its recent failures call for. */
  slowDown(ip: string | null): Promise<void>;
  /** Whether the account is locked now: its logins are refused, right password or not. */
  isLocked(userId: string): Promise<boolean>;
  /**
   * A login refused as invalid credentials: one more failure from the IP, and for
   * `account` one more of the account's, locking it at `max_failures`.
   */
  failed(context: AuditContext, account: FailedAccount | undefined): Promise<void>;
  /** A successful login: the account's failures are forgotten. */
  succeeded(userId: string): Promise<void>;
}

/** `lockout.enabled = false`: nothing is counted, nothing is locked or slowed. */
export const NO_LOCKOUT: LoginLockout = {
  slowDown: async () => {},
  isLocked: async () => false,
  failed: async () => {},
  succeeded: async () => {},
};

export function createLoginLockout(deps: LoginLockoutDeps): LoginLockout {
  const { settings, db, audit } = deps;
  if (!settings.enabled) return NO_LOCKOUT;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => sleepFor(ms));
  const store = createLockoutStore(db);

  async function countIp(context: AuditContext, ip: string, at: number): Promise<void> {
    const cutoff = windowCutoff(at, settings);
    const failures = await db.transaction(async (trx: AnyKysely) => {
      const counted = await createLockoutStore({ kysely: trx }).countIpFailure(
        ip,
        at,
        cutoff,
        settings.max_failures,
      );
      // Exactly one failure makes the count reach the limit: that one records it.
      if (counted === settings.max_failures) {
        await audit.inTransaction(trx, context, [
          ipEntry('login_ip.slowed', ip, { failures: counted }),
        ]);
      }
      return counted;
    });
    // A fresh window: now and then, not on every failure, sweep what has expired.
    if (failures === 1) await store.prune(at, cutoff);
  }

  async function countAccount(
    context: AuditContext,
    account: FailedAccount,
    at: number,
  ): Promise<void> {
    const failures = await store.countAccountFailure(
      account.user_id,
      at,
      windowCutoff(at, settings),
    );
    if (failures < settings.max_failures) return;
    const until = at + settings.lock_seconds * 1000;
    const locked = await db.transaction(async (trx: AnyKysely) => {
      const made = await createLockoutStore({ kysely: trx }).lockAccount(
        account.user_id,
        at,
        until,
        settings.max_failures,
      );
      if (made) {
        await audit.inTransaction(
          trx,
          context,
          accountEntries(account.tenant_ids, 'account.locked', account.user_id, {
            failures,
            locked_until: new Date(until).toISOString(),
          }),
        );
      }
      return made;
    });
    if (locked) deps.attempts.locked();
  }

  return {
    async slowDown(clientIp) {
      const ip = clientIp === null ? undefined : canonicalAddress(clientIp);
      if (ip === undefined) return;
      const failures = await store.ipFailures(ip, windowCutoff(now(), settings));
      const delay = ipDelayMs(failures, settings);
      if (delay > 0) await sleep(delay);
    },
    async isLocked(userId) {
      return (await store.lockedUntil(userId, now())) !== undefined;
    },
    async failed(context, account) {
      const at = now();
      const ip = context.ip === null ? undefined : canonicalAddress(context.ip);
      if (ip !== undefined) await countIp(context, ip, at);
      if (account) await countAccount(context, account, at);
    },
    async succeeded(userId) {
      await store.forgetAccountFailures(userId, now());
    },
  };
}
