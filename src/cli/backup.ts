import { resolve } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { listBackups } from '../backup/backup-dir.ts';
import { restoreBackup } from '../backup/restore.ts';
import { backupDirOf, createBackupService } from '../backup/service.ts';
import { verifyBackup } from '../backup/verify-backup.ts';
import { loadConfig } from '../config/load.ts';
import { openDatabase } from '../storage/open-database.ts';
import { adminOptions, runAdmin } from './admin-session.ts';
import {
  ALLOW_UNSIGNED,
  backupKeys,
  backupPathOf,
  existingMasterKey,
  warnUnauthenticated,
} from './backup-files.ts';
import { created, formatBytes, LIST_COLUMNS, listed } from './backup-records.ts';
import { printRecord, printRows } from './output.ts';
import { EXIT_FAILURE, EXIT_USAGE, runRefusing, withProgress } from './run-refusing.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

// Moved to backup-records.ts with the output it formats; re-exported as before.
export { formatBytes } from './backup-records.ts';

interface Common {
  readonly config?: string;
  readonly json?: boolean;
}

/** A whole number from 0 to `max`, else a usage error (exit 2). */
function wholeNumber(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new InvalidArgumentError(`expected a whole number from 0 to ${max}`);
    }
    return n;
  };
}

/**
 * `tessera backup ...`: one-file backups of the whole deployment (docs/backups.md).
 * Progress goes to stderr: a redrawn line on a terminal, a line per table elsewhere.
 */
export function registerBackupCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const backup = program
    .command('backup')
    .description('make, list, verify, restore and prune backups of the whole deployment');
  const configOf = (options: Common) => loadConfig({ path: options.config, env: io.env }).config;

  adminOptions(
    backup
      .command('create')
      .description('write a backup file of the configured database (servers may keep running)')
      .option('--out <dir>', 'write it to this directory instead of backup.dir'),
  ).action(async (options: Common & { out?: string }) => {
    await runAdmin(io, options, async ({ db, config, services }) => {
      const service = createBackupService({ db, config, audit: services.audit });
      const dir = options.out === undefined ? undefined : resolve(options.out);
      const file = await withProgress(io, (onProgress) =>
        service.create(CLI_AUDIT_CONTEXT, { dir, onProgress }),
      );
      printRecord(io, options.json, created(file, options.json));
    });
  });

  adminOptions(
    backup.command('list').description('list the backup directory, newest first'),
  ).action(async (options: Common) => {
    const config = configOf(options);
    const { signingKey } = backupKeys(config, io.env, false);
    const backups = await listBackups(backupDirOf(config), {}, signingKey);
    printRows(
      io,
      options.json,
      backups.map((b) => listed(b, options.json)),
      LIST_COLUMNS,
    );
  });

  adminOptions(
    backup
      .command('verify <file>')
      .description('check every byte of a backup file (a path, or an id); needs no database')
      .option('--allow-unsigned', ALLOW_UNSIGNED),
  ).action(async (file: string, options: Common & { allowUnsigned?: boolean }) => {
    await runRefusing(io, async () => {
      const config = configOf(options);
      const path = await backupPathOf(config, file);
      const keys = backupKeys(config, io.env, options.allowUnsigned === true);
      const report = await withProgress(io, (onProgress) => verifyBackup(path, keys, onProgress));
      const m = report.manifest;
      const ok = report.problems.length === 0;
      if (m) warnUnauthenticated(io, m.id, report.authenticity);
      if (options.json) {
        const summary = { path, ok, id: m?.id ?? null, created_at: m?.created_at ?? null };
        const signature = { signature: report.authenticity ?? null };
        const counts = { tables: m?.tables.length ?? null, rows: report.rows };
        const out = { ...summary, ...signature, ...counts, problems: report.problems };
        io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else if (ok && m) {
        io.stdout.write(
          `OK: backup ${m.id} (created ${m.created_at}): ${m.tables.length} tables, ${report.rows} rows, ${m.events.count} events${m.encryption ? ', encrypted' : ''}, ${report.authenticity === 'signed' ? 'signature valid' : `${report.authenticity}: origin not checked`}\n`,
        );
      } else {
        for (const problem of report.problems) {
          io.stdout.write(`${problem.part}: ${problem.message}\n`);
        }
      }
      if (!ok) {
        const count = report.problems.length;
        const detail = `${path} failed verification (${count} problem${count === 1 ? '' : 's'})`;
        io.stderr.write(`tessera: ${detail}\n`);
        // A refusal keeps its own code (backup_unsigned, backup_signature_invalid, ...).
        const code = report.problems.find((problem) => problem.code)?.code ?? 'backup_invalid';
        throw new CommanderError(EXIT_FAILURE, `tessera.${code}`, detail);
      }
    });
  });

  adminOptions(
    backup
      .command('restore <file>')
      .description(
        'load a backup (a path, or an id) into the configured database; stop servers first',
      )
      .option('--force', 'replace the data the database holds')
      .option('--allow-unsigned', ALLOW_UNSIGNED),
  ).action(async (file: string, options: Common & { force?: boolean; allowUnsigned?: boolean }) => {
    await runRefusing(io, async () => {
      const config = configOf(options);
      const path = await backupPathOf(config, file);
      const keys = backupKeys(config, io.env, options.allowUnsigned === true);
      const masterKey = existingMasterKey(config.storage, io.env);
      const db = await openDatabase(config.storage);
      try {
        const result = await withProgress(io, (onProgress) =>
          restoreBackup(db, path, {
            ...keys,
            force: options.force,
            masterKey,
            audit: CLI_AUDIT_CONTEXT,
            onProgress,
          }),
        );
        const { manifest } = result;
        warnUnauthenticated(io, manifest.id, result.authenticity);
        const restart =
          'restart every server on this database: they still hold what was there before';
        if (options.json) {
          const out = { id: manifest.id, created_at: manifest.created_at, rows: result.rows };
          const rest = {
            engine: manifest.engine,
            schema_version: result.schemaVersion,
            signature: result.authenticity,
          };
          io.stdout.write(
            `${JSON.stringify({ ...out, ...rest, database: db.location }, null, 2)}\n`,
          );
          io.stderr.write(`tessera: ${restart}\n`);
        } else {
          io.stdout.write(
            `restored ${result.rows} rows from backup ${manifest.id} (created ${manifest.created_at}) into ${db.location}\n${restart}\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
  });

  adminOptions(
    backup
      .command('prune')
      .description('delete the backups the retention rules let go (default: backup.retention_*)')
      .option('--keep <n>', 'keep the newest n (0: no count rule)', wholeNumber(100_000))
      .option(
        '--max-age-days <d>',
        'keep those younger than d days (0: no age rule)',
        wholeNumber(36_500),
      ),
  ).action(async (options: Common & { keep?: number; maxAgeDays?: number }) => {
    await runAdmin(io, options, async ({ db, config, services }) => {
      const service = createBackupService({ db, config, audit: services.audit });
      const rules = {
        keepCount: options.keep ?? service.retention.keepCount,
        keepDays: options.maxAgeDays ?? service.retention.keepDays,
      };
      if (rules.keepCount === 0 && rules.keepDays === 0) {
        const detail =
          'no retention rule: pass --keep <n> or --max-age-days <d>, or configure backup.retention_count or backup.retention_days';
        io.stderr.write(`tessera: ${detail}\n`);
        throw new CommanderError(EXIT_USAGE, 'tessera.usage', detail);
      }
      const deleted = await service.prune(CLI_AUDIT_CONTEXT, rules);
      if (options.json) {
        const rows = deleted.map((b) => ({ id: b.id, created_at: b.created_at, size: b.size }));
        io.stdout.write(`${JSON.stringify({ deleted: rows }, null, 2)}\n`);
      } else {
        const lines = deleted.map((b) => `deleted ${b.id} (${formatBytes(b.size)})\n`);
        io.stdout.write(lines.join('') || 'nothing to delete\n');
      }
    });
  });

  adminOptions(
    backup.command('delete <id>').description('delete one backup of the backup directory'),
  ).action(async (id: string, options: Common) => {
    await runAdmin(io, options, async ({ db, config, services }) => {
      const service = createBackupService({ db, config, audit: services.audit });
      const deleted = await service.remove(CLI_AUDIT_CONTEXT, id);
      io.stdout.write(
        options.json
          ? `${JSON.stringify({ deleted: deleted.id, path: deleted.path })}\n`
          : `deleted ${deleted.id} (${deleted.path})\n`,
      );
    });
  });
}
