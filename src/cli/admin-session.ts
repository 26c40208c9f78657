import { type Command, CommanderError } from 'commander';
import { composeServices, type Services } from '../composition-root.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { isTesseraError } from '../platform/errors.ts';
import { migrationStatus } from '../storage/migrate.ts';
import { type Database, openDatabase } from '../storage/open-database.ts';
import type { CliIo } from './user.ts';

/** Exit codes as in program.ts (not imported: program.ts imports the command files). */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** What an admin command works with: the database the servers use, and the services on it. */
export interface AdminSession {
  readonly config: Config;
  readonly db: Database;
  readonly services: Services;
  readonly io: CliIo;
}

export interface AdminOptions {
  readonly config?: string | undefined;
}

/** Adds the options every admin command takes. */
export function adminOptions(command: Command): Command {
  return command
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .option('--json', 'print JSON for scripts instead of text');
}

/**
 * Runs `fn` against the configured database, migrated, then closes it. Safe while
 * servers run on the same database: every write is a short transaction, and the
 * servers drop cached credentials when they see it (PostgreSQL: NOTIFY; SQLite: the
 * file's data version). A refusal (4xx) prints its detail and exits 2 for bad input,
 * 1 for anything else (not found, conflict, quota).
 */
export async function runAdmin<T>(
  io: CliIo,
  options: AdminOptions,
  fn: (session: AdminSession) => Promise<T>,
): Promise<T> {
  const { config } = loadConfig({ path: options.config, env: io.env });
  const db = await openDatabase(config.storage);
  try {
    await requireMigrated(db);
    const services = composeServices(db, config, io.env, { masterKey: 'when-needed' });
    return await fn({ config, db, services, io });
  } catch (error) {
    if (!isTesseraError(error) || error.status >= 500) throw error;
    io.stderr.write(`tessera: ${error.detail}\n`);
    const exitCode = error.status === 400 ? EXIT_USAGE : EXIT_FAILURE;
    throw new CommanderError(exitCode, `tessera.${error.code}`, error.detail);
  } finally {
    await db.close();
  }
}

export async function requireMigrated(db: Database): Promise<void> {
  const status = await migrationStatus(db, MIGRATIONS);
  if (status.pending.length > 0) {
    throw new Error(
      `the database at ${db.location} is not migrated (pending: ${status.pending.join(', ')}): ` +
        'run `tessera migrate` or start the server once first',
    );
  }
}
