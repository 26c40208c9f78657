import { type Expression, type Kysely, sql } from 'kysely';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';

// `users` is identity's, read by one statement only (reserveAttempt), where it cannot be
// asked apart: see there.
type LockoutTables = Pick<Tables, 'account_lockouts' | 'ip_login_failures' | 'users'>;

export interface AccountLock {
  readonly user_id: string;
  readonly locked_ms: number;
  readonly locked_until_ms: number;
}

export interface IpFailures {
  readonly ip: string;
  readonly failures: number;
  readonly last_failure_ms: number;
}

export interface Page {
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * Failed-login counters and locks. Every change is one atomic statement (an upsert
 * that adds one, a conditional update or delete), so nodes counting at the same
 * time never lose a failure nor lock twice. Times come from the caller's clock.
 */
export interface LockoutStore {
  /** When the account's lock ends, if it is locked at `now`. */
  lockedUntil(userId: string, now: number): Promise<number | undefined>;
  /**
   * Reserves one password check of the account before it is made: one atomic upsert
   * that adds an attempt only while the account is not locked and has fewer than
   * `maxFailures` attempts in its window (a new window once the old one started at or
   * before `cutoff`). The count with this attempt, or undefined when refused. An
   * attempt stays counted (as a failure) unless a right password forgets it, so a
   * request that dies mid-check holds its attempt until the window ends, no longer.
   * An id that no account has changes nothing and costs the same statement.
   */
  reserveAttempt(
    userId: string,
    now: number,
    cutoff: number,
    maxFailures: number,
  ): Promise<number | undefined>;
  /**
   * Locks the account until `until` if it has `maxFailures` failures and is not
   * locked: true for the one caller that locked it. Its count starts again.
   */
  lockAccount(userId: string, now: number, until: number, maxFailures: number): Promise<boolean>;
  /** A successful login: the account's failures are forgotten (a lock stays). */
  forgetAccountFailures(userId: string, now: number): Promise<void>;
  /** Ends a lock in force at `now`; false when there was none. */
  unlockAccount(userId: string, now: number): Promise<boolean>;
  /**
   * Locked at `now`, by user id; only users among `onlyUsers` when given (a subquery of
   * user ids, e.g. a tenant's members from tenancy, so the page is filtered in one read).
   */
  listLockedAccounts(
    now: number,
    page: Page,
    onlyUsers?: Expression<{ user_id: string }>,
  ): Promise<AccountLock[]>;

  /** The IP's failures still counted (last one after `cutoff`). */
  ipFailures(ip: string, cutoff: number): Promise<number>;
  /**
   * Adds a failure from the IP. The count starts again once its window started at or
   * before `cutoff`, unless the IP is slowed (`maxFailures` reached) and its last
   * failure is recent: a slowed IP stays slowed while it keeps failing.
   */
  countIpFailure(ip: string, now: number, cutoff: number, maxFailures: number): Promise<number>;
  /** Forgets the IP's failures; false when none were still counted. */
  forgetIp(ip: string, cutoff: number): Promise<boolean>;
  /** IPs with at least `minFailures` failures still counted. By IP. */
  listIps(cutoff: number, minFailures: number, page: Page): Promise<IpFailures[]>;
  /** Drops counters nobody needs any more: expired windows, ended locks. */
  prune(now: number, cutoff: number): Promise<void>;
}

export function createLockoutStore(db: Pick<Database, 'kysely'>): LockoutStore {
  const kysely: Kysely<LockoutTables> = db.kysely;
  return {
    async lockedUntil(userId, now) {
      const row = await kysely
        .selectFrom('account_lockouts')
        .select('locked_until_ms')
        .where('user_id', '=', userId)
        .where('locked_until_ms', '>', now)
        .executeTakeFirst();
      return row?.locked_until_ms ?? undefined;
    },

    async reserveAttempt(userId, now, cutoff, maxFailures) {
      // In ON CONFLICT DO UPDATE, every SET and WHERE expression reads the row as it
      // was; PostgreSQL re-reads it under the row lock, SQLite has one writer: of any
      // number of concurrent callers, on any number of nodes, at most `maxFailures` pass.
      const current = sql<boolean>`account_lockouts.window_start_ms > ${cutoff}`;
      const row = await kysely
        .insertInto('account_lockouts')
        .columns(['user_id', 'failures', 'window_start_ms'])
        // From `users`, so an unknown id inserts nothing (and breaks no foreign key).
        // Identity's table, read here and nowhere else in protection: the existence
        // check must be this very statement (a user erased between a separate check
        // and the insert would break the foreign key), and an unknown email runs it
        // against NO_ACCOUNT exactly as a known one does (login-lockout.ts).
        .expression((eb) =>
          eb
            .selectFrom('users')
            .select([
              'users.id',
              sql<number>`${sql.lit(1)}`.as('failures'),
              sql<number>`CAST(${now} AS bigint)`.as('window_start_ms'),
            ])
            .where('users.id', '=', userId),
        )
        .onConflict((oc) =>
          oc
            .column('user_id')
            .doUpdateSet({
              failures: sql`CASE WHEN ${current} THEN account_lockouts.failures + 1 ELSE 1 END`,
              window_start_ms: sql`CASE WHEN ${current} THEN account_lockouts.window_start_ms ELSE ${now} END`,
            })
            .where(
              sql<boolean>`(account_lockouts.locked_until_ms IS NULL OR account_lockouts.locked_until_ms <= ${now})
                AND (NOT (${current}) OR account_lockouts.failures < ${maxFailures})`,
            ),
        )
        .returning('failures')
        .executeTakeFirst();
      return row === undefined ? undefined : Number(row.failures);
    },

    async lockAccount(userId, now, until, maxFailures) {
      const result = await kysely
        .updateTable('account_lockouts')
        .set({ locked_ms: now, locked_until_ms: until, failures: 0, window_start_ms: now })
        .where('user_id', '=', userId)
        .where('failures', '>=', maxFailures)
        .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async forgetAccountFailures(userId, now) {
      await kysely
        .deleteFrom('account_lockouts')
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', now)]))
        .execute();
    },

    async unlockAccount(userId, now) {
      const result = await kysely
        .deleteFrom('account_lockouts')
        .where('user_id', '=', userId)
        .where('locked_until_ms', '>', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listLockedAccounts(now, { after, limit }, onlyUsers) {
      let query = kysely
        .selectFrom('account_lockouts')
        .select(['user_id', 'locked_ms', 'locked_until_ms'])
        .where('locked_until_ms', '>', now);
      if (onlyUsers !== undefined) {
        query = query.where(sql<boolean>`account_lockouts.user_id in ${onlyUsers}`);
      }
      if (after !== undefined) query = query.where('user_id', '>', after);
      const rows = await query.orderBy('user_id').limit(limit).execute();
      return rows.map((row) => ({
        user_id: row.user_id,
        locked_ms: Number(row.locked_ms),
        locked_until_ms: Number(row.locked_until_ms),
      }));
    },

    async ipFailures(ip, cutoff) {
      const row = await kysely
        .selectFrom('ip_login_failures')
        .select('failures')
        .where('ip', '=', ip)
        .where('last_failure_ms', '>', cutoff)
        .executeTakeFirst();
      return row ? Number(row.failures) : 0;
    },

    async countIpFailure(ip, now, cutoff, maxFailures) {
      const current = sql<boolean>`(ip_login_failures.window_start_ms > ${cutoff} OR (ip_login_failures.failures >= ${maxFailures} AND ip_login_failures.last_failure_ms > ${cutoff}))`;
      const row = await kysely
        .insertInto('ip_login_failures')
        .values({ ip, failures: 1, window_start_ms: now, last_failure_ms: now })
        .onConflict((oc) =>
          oc.column('ip').doUpdateSet({
            failures: sql`CASE WHEN ${current} THEN ip_login_failures.failures + 1 ELSE 1 END`,
            window_start_ms: sql`CASE WHEN ${current} THEN ip_login_failures.window_start_ms ELSE ${now} END`,
            last_failure_ms: now,
          }),
        )
        .returning('failures')
        .executeTakeFirstOrThrow();
      return Number(row.failures);
    },

    async forgetIp(ip, cutoff) {
      const result = await kysely
        .deleteFrom('ip_login_failures')
        .where('ip', '=', ip)
        .where('last_failure_ms', '>', cutoff)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listIps(cutoff, minFailures, { after, limit }) {
      let query = kysely
        .selectFrom('ip_login_failures')
        .select(['ip', 'failures', 'last_failure_ms'])
        .where('last_failure_ms', '>', cutoff)
        .where('failures', '>=', minFailures);
      if (after !== undefined) query = query.where('ip', '>', after);
      const rows = await query.orderBy('ip').limit(limit).execute();
      return rows.map((row) => ({
        ip: row.ip,
        failures: Number(row.failures),
        last_failure_ms: Number(row.last_failure_ms),
      }));
    },

    async prune(now, cutoff) {
      await kysely.deleteFrom('ip_login_failures').where('last_failure_ms', '<=', cutoff).execute();
      await kysely
        .deleteFrom('account_lockouts')
        .where('window_start_ms', '<=', cutoff)
        .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', now)]))
        .execute();
    },
  };
}
