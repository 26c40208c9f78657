import type { Migration } from '../storage/migrate.ts';

/**
 * Brute-force lockout (issue 6), in the database so every node counts into the same
 * rows and a lock set by one node holds on all of them.
 *
 * - `account_lockouts`: failed logins of one existing account in the current window,
 *   and its lock (`locked_until_ms` in the future). Only accounts that exist get a
 *   row: guessed emails cannot fill the table. Gone with the user.
 * - `ip_login_failures`: failed logins from one client IP. An IP at `max_failures`
 *   stays slowed while its failures keep coming; `last_failure_ms` ends it and prunes.
 */
export const lockouts: Migration = {
  version: 9,
  name: 'lockouts',
  sqlite: `CREATE TABLE account_lockouts (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  failures INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  locked_ms INTEGER,
  locked_until_ms INTEGER
) STRICT;
CREATE INDEX account_lockouts_locked ON account_lockouts (locked_until_ms);

CREATE TABLE ip_login_failures (
  ip TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  last_failure_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX ip_login_failures_last ON ip_login_failures (last_failure_ms);
`,
  postgres: `CREATE TABLE account_lockouts (
  user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  failures integer NOT NULL,
  window_start_ms bigint NOT NULL,
  locked_ms bigint,
  locked_until_ms bigint
);
CREATE INDEX account_lockouts_locked ON account_lockouts (locked_until_ms);

CREATE TABLE ip_login_failures (
  ip text COLLATE "C" PRIMARY KEY,
  failures integer NOT NULL,
  window_start_ms bigint NOT NULL,
  last_failure_ms bigint NOT NULL
);
CREATE INDEX ip_login_failures_last ON ip_login_failures (last_failure_ms);
`,
};
