import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { migrateToLatest, migrationStatus } from '../storage/migrate.ts';
import { openDatabase } from '../storage/open-database.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the server also does this at start-up)')
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .option('--status', 'only report applied and pending migrations')
    .action(async (options: { config?: string; status?: boolean }) => {
      const { config } = loadConfig({ path: options.config });
      const db = await openDatabase(config.storage);
      try {
        if (options.status) {
          const status = await migrationStatus(db, MIGRATIONS);
          const pending = status.pending.length ? status.pending.join(', ') : 'none';
          process.stdout.write(
            `${db.engine} ${db.location}\nschema version ${status.current} of ${status.latest}; pending: ${pending}\n`,
          );
          return;
        }
        const { applied } = await migrateToLatest(db, MIGRATIONS);
        process.stdout.write(
          applied.length
            ? `applied migrations ${applied.join(', ')} to ${db.engine} ${db.location}\n`
            : `${db.engine} ${db.location} is up to date\n`,
        );
      } finally {
        await db.close();
      }
    });
}
