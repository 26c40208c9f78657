import { setTimeout as sleepFor } from 'node:timers/promises';
import type { AuditContext } from '../../access/audit-context.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { canonicalAddress } from '../../platform/cidr.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { AuthAttempts } from '../auth-attempts.ts';
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

/** Whether a login may check the account's password (see `LoginLockout.admit`). */
export interface Admission {
  /** One of the account's `max_failures` attempts is reserved for this check. */
  readonly admitted: boolean;
  /** Not admitted because the account is locked (otherwise its attempts are all taken). */
  readonly locked: boolean;
  /** The account's attempts in the window, this one included; 0 when not admitted. */
  readonly attempts: number;
}

/**
 * An id no account has (randomUUID makes version 4 ids only): an unknown email runs
 * the same statements against it as a known one against its account (issue 15, item 6).
 */
export const NO_ACCOUNT = '00000000-0000-0000-0000-000000000000';

/** What password logins consult and report: the brute-force defence of issue 6. */
export interface LoginLockout {
  /** Waits before a login from `ip` is answered, as long as its recent failures call for. */
  slowDown(ip: string | null): Promise<void>;
  /**
   * Before any password is checked: whether the account is locked, and one attempt
   * reserved atomically (across nodes) while fewer than `max_failures` are counted. A
   * login not admitted must not check the password. `undefined` (unknown email) runs
   * the same statements against `NO_ACCOUNT` and is never admitted.
   */
  admit(userId: string | undefined): Promise<Admission>;
  /**
   * A login refused as invalid credentials: one more failure from the IP; for `account`
   * (admitted, wrong password), its reserved attempt is the failure and the one that
   * reaches `max_failures` locks it. The same statements run with or without `account`.
   */
  failed(
    context: AuditContext,
    account: FailedAccount | undefined,
    admission: Admission,
  ): Promise<void>;
  /** The account's password was right: its failures (and this attempt) are forgotten. */
  succeeded(userId: string): Promise<void>;
  /**
   * Whether the account is locked now, reserving nothing: for sign-ins that check no
   * password (magic links), which a lock refuses all the same. `NO_ACCOUNT` costs the
   * same statement and is never locked.
   */
  isLocked(userId: string): Promise<boolean>;
  /**
   * The account's owner proved it another way and chose a new password (a password
   * reset by email): its lock and failures end, in `trx`, the reset's transaction.
   * True when a lock in force was lifted (the caller records `account.unlocked`).
   */
  cleared(trx: AnyKysely, userId: string): Promise<boolean>;
}

/** `lockout.enabled = false`: nothing is counted, nothing is locked or slowed. */
export const NO_LOCKOUT: LoginLockout = {
  slowDown: async () => {},
  admit: async () => ({ admitted: true, locked: false, attempts: 0 }),
  failed: async () => {},
  succeeded: async () => {},
  isLocked: async () => false,
  cleared: async () => false,
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

  /**
   * Locks the account if this failure is the one that reached `max_failures`. Without
   * one, the same conditional update runs against `NO_ACCOUNT` and changes nothing.
   */
  async function lockIfDue(
    context: AuditContext,
    account: FailedAccount | undefined,
    attempts: number,
    at: number,
  ): Promise<void> {
    const due = account !== undefined && attempts >= settings.max_failures;
    const until = at + settings.lock_seconds * 1000;
    const locked = await db.transaction(async (trx: AnyKysely) => {
      const made = await createLockoutStore({ kysely: trx }).lockAccount(
        due ? account.user_id : NO_ACCOUNT,
        at,
        until,
        settings.max_failures,
      );
      if (made && account) {
        await audit.inTransaction(
          trx,
          context,
          accountEntries(account.tenant_ids, 'account.locked', account.user_id, {
            failures: attempts,
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
    async admit(userId) {
      const at = now();
      const subject = userId ?? NO_ACCOUNT;
      const locked = (await store.lockedUntil(subject, at)) !== undefined;
      const attempts = await store.reserveAttempt(
        subject,
        at,
        windowCutoff(at, settings),
        settings.max_failures,
      );
      if (attempts === undefined || userId === undefined) {
        return { admitted: false, locked, attempts: 0 };
      }
      return { admitted: true, locked: false, attempts };
    },
    async failed(context, account, admission) {
      const at = now();
      const ip = context.ip === null ? undefined : canonicalAddress(context.ip);
      if (ip !== undefined) await countIp(context, ip, at);
      await lockIfDue(context, admission.admitted ? account : undefined, admission.attempts, at);
    },
    async succeeded(userId) {
      await store.forgetAccountFailures(userId, now());
    },
    async isLocked(userId) {
      return (await store.lockedUntil(userId, now())) !== undefined;
    },
    async cleared(trx, userId) {
      const at = now();
      const inTrx = createLockoutStore({ kysely: trx });
      const unlocked = await inTrx.unlockAccount(userId, at);
      await inTrx.forgetAccountFailures(userId, at);
      return unlocked;
    },
  };
}
