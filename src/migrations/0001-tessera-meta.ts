import type { Migration } from '../storage/migrate.ts';

/** Deployment-wide settings as key/value text (the deployment id first). */
export const tesseraMeta: Migration = {
  version: 1,
  name: 'tessera-meta',
  sqlite: `CREATE TABLE tessera_meta (
  key TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
`,
  postgres: `CREATE TABLE tessera_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
`,
};
