import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { AnyKysely, Engine } from './database.ts';
import type { Database } from './open-database.ts';

/** One schema step. Each engine's SQL may hold several statements. Never edited once landed. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

export interface MigrationStatus {
  /** Highest applied version, 0 for an empty database. */
  readonly current: number;
  /** Highest version this code knows. */
  readonly latest: number;
  readonly pending: number[];
}

interface LedgerRow {
  version: number;
  name: string;
  checksum: string;
}

interface Ledger {
  tessera_migrations: LedgerRow;
}

/** The ledger of applied migrations, one row per migration. */
export const LEDGER_TABLE = 'tessera_migrations';

const LEDGER_DDL: Record<Engine, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS tessera_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`,
  postgres: `CREATE TABLE IF NOT EXISTS tessera_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`,
};

export function migrationChecksum(migration: Migration, engine: Engine): string {
  return createHash('sha256').update(migration[engine]).digest('hex');
}

/** Strictly increasing positive integer versions, each with a name and SQL for both engines. */
export function validateMigrations(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const migration of migrations) {
    const { version, name } = migration;
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new Error(`migration version ${version} must be a positive integer`);
    }
    if (version <= previous) {
      throw new Error(
        `migration ${version} must come after ${previous}: versions are strictly increasing`,
      );
    }
    if (!name.trim()) throw new Error(`migration ${version} has no name`);
    if (!migration.sqlite.trim() || !migration.postgres.trim()) {
      throw new Error(`migration ${version} (${name}) needs SQL for both sqlite and postgres`);
    }
    previous = version;
  }
}

/**
 * Applies pending migrations in order, all in one transaction under the schema lock,
 * so processes starting together are safe: the second waits, then finds nothing to do.
 */
export async function migrateToLatest(
  db: Database,
  migrations: readonly Migration[],
): Promise<{ applied: number[] }> {
  validateMigrations(migrations);
  return db.exclusive((trx) => applyMigrations(db, trx, migrations));
}

/**
 * Applies what `migrations` holds that the database lacks, inside `trx`, a transaction
 * that holds the schema lock (`db.exclusive`): for work that must commit together with
 * its schema, such as a restore. `migrations` may stop short of the latest version.
 */
export async function applyMigrations(
  db: Database,
  trx: AnyKysely,
  migrations: readonly Migration[],
): Promise<{ applied: number[] }> {
  validateMigrations(migrations);
  await sql.raw(LEDGER_DDL[db.engine]).execute(trx);
  const ledger: Kysely<Ledger> = trx;
  const rows = await ledger
    .selectFrom('tessera_migrations')
    .select(['version', 'name', 'checksum'])
    .execute();
  const pending = checkApplied(rows, migrations, db.engine);
  for (const migration of pending) {
    await runScript(db, trx, migration[db.engine]);
    await ledger
      .insertInto('tessera_migrations')
      .values({
        version: migration.version,
        name: migration.name,
        checksum: migrationChecksum(migration, db.engine),
      })
      .execute();
  }
  return { applied: pending.map((migration) => migration.version) };
}

/** Read-only and lock-free (for /readiness): what is applied versus what this code knows. */
export async function migrationStatus(
  db: Database,
  migrations: readonly Migration[],
): Promise<MigrationStatus> {
  validateMigrations(migrations);
  const applied = new Set<number>();
  if (await ledgerExists(db)) {
    const ledger: Kysely<Ledger> = db.kysely;
    for (const row of await ledger.selectFrom('tessera_migrations').select('version').execute()) {
      applied.add(row.version);
    }
  }
  return {
    current: Math.max(0, ...applied),
    latest: migrations.at(-1)?.version ?? 0,
    pending: migrations.filter((m) => !applied.has(m.version)).map((m) => m.version),
  };
}

/** Refuses edited, unknown or out-of-order history; returns what is left to apply. */
function checkApplied(
  rows: readonly LedgerRow[],
  migrations: readonly Migration[],
  engine: Engine,
): Migration[] {
  const known = new Map(migrations.map((migration) => [migration.version, migration]));
  const unknown = rows.filter((row) => !known.has(row.version)).map((row) => row.version);
  if (unknown.length > 0) {
    throw new Error(
      `the database has migration ${unknown.sort((a, b) => a - b).join(', ')} that this version of Tessera ` +
        'does not know: the database is newer than the code. Run a Tessera version at least as new as the one that migrated it.',
    );
  }
  for (const row of rows) {
    const migration = known.get(row.version)!;
    if (row.checksum !== migrationChecksum(migration, engine)) {
      throw new Error(
        `migration ${row.version} (${migration.name}) differs from the one applied to this database ` +
          '(checksum mismatch): migrations are never edited once landed; add a new migration instead.',
      );
    }
  }
  const appliedVersions = new Set(rows.map((row) => row.version));
  const highest = Math.max(0, ...appliedVersions);
  const pending = migrations.filter((migration) => !appliedVersions.has(migration.version));
  const late = pending.filter((migration) => migration.version < highest);
  if (late.length > 0) {
    throw new Error(
      `migration ${late.map((m) => m.version).join(', ')} is pending but ${highest} is already applied: ` +
        'new migrations must come after every landed one.',
    );
  }
  return pending;
}

async function runScript(db: Database, trx: AnyKysely, script: string): Promise<void> {
  if (db.engine === 'sqlite') {
    // node:sqlite's prepare() silently ignores every statement after the first; exec()
    // runs them all. withRaw joins the transaction that holds the connection.
    await db.withRaw((raw) => raw.exec(script));
  } else {
    // No parameters: pg sends a simple query, which may hold several statements.
    await sql.raw(script).execute(trx);
  }
}

async function ledgerExists(db: Database): Promise<boolean> {
  const query =
    db.engine === 'sqlite'
      ? sql<{
          found: number;
        }>`SELECT count(*) AS found FROM sqlite_master WHERE type = 'table' AND name = 'tessera_migrations'`
      : sql<{
          found: number;
        }>`SELECT count(*) AS found FROM pg_tables WHERE tablename = 'tessera_migrations' AND schemaname = current_schema()`;
  const { rows } = await query.execute(db.kysely);
  return Number(rows[0]?.found) > 0;
}
