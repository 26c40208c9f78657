import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { auditPartition } from '../audit/audit-entry.ts';
import { loadLedgerFromBackup } from '../backup/load-ledger.ts';
import { loadConfig } from '../config/load.ts';
import { backfillChains } from '../events/chain/backfill.ts';
import { type ChainLog, openChainLog } from '../events/chain/chain-log.ts';
import { createSigningKeys } from '../identity/tokens/signing-keys.ts';
import { createCheckpointStore } from '../ledger/checkpoints/checkpoint-store.ts';
import { checkpointKeyring } from '../ledger/checkpoints/verify-checkpoint.ts';
import { loadJwks } from '../ledger/jwks-source.ts';
import type { CheckpointChecks } from '../ledger/verify-checkpoints.ts';
import { type PartitionsVerdict, verifyPartitions } from '../ledger/verify-partitions.ts';
import { type Database, openDatabase } from '../storage/open-database.ts';
import { requireMigrated } from './admin-session.ts';
import { backupKeys, backupPathOf } from './backup-files.ts';
import { progressReporter } from './progress-bar.ts';
import { EXIT_FAILURE, runRefusing, withProgress } from './run-refusing.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

interface VerifyOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly tenant?: string;
  readonly backup?: string;
  readonly jwks?: string;
}

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

function tenantId(value: string): string {
  if (!TENANT_ID.test(value)) throw new InvalidArgumentError('expected a tenant id (a slug)');
  return value;
}

/**
 * `tessera ledger ...`: the event log's hash chains (docs/ledger.md). Both commands
 * read and write rows only: no master key is needed.
 */
export function registerLedgerCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const ledger = program
    .command('ledger')
    .description("chain and verify the event log's tamper-evident hash chains");

  ledger
    .command('backfill')
    .description('chain the events stored without a hash (the server also does this at start)')
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .action(async (options: { config?: string }) => {
      const { config } = loadConfig({ path: options.config, env: io.env });
      await withDatabase(config.storage, async (db) => {
        const reporter = progressReporter(io.stderr);
        const result = await backfillChains(openChainLog(db), {
          batch: config.ledger.backfill_batch,
          onProgress: ({ chained, total }) =>
            reporter.onProgress({
              phase: 'chain',
              table: 'events',
              rows: chained,
              tableRows: total,
              doneRows: chained,
              totalRows: total,
            }),
        });
        reporter.done();
        io.stdout.write(`chained ${result.chained} events\n`);
        for (const partition of result.blocked) {
          io.stderr.write(
            `tessera: ${partition}: events past its head already have a hash; run \`tessera ledger verify\`\n`,
          );
        }
      });
    });

  ledger
    .command('verify')
    .description(
      "verify every partition (or one tenant's log and audit trail) of the configured database or a backup file; exit 1 when broken",
    )
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .option('--json', 'print JSON for scripts instead of text')
    .option('--tenant <id>', "only this tenant's log and its audit trail", tenantId)
    .option('--backup <file>', 'verify a backup file (a path, or an id) instead of the database')
    .option(
      '--jwks <file|url>',
      "check the signed checkpoints with this JWKS (a file, or an http(s) URL, e.g. a saved GET /api/v1/ledger/keys) instead of the verified database's own public keys",
    )
    .action(async (options: VerifyOptions) => {
      await runRefusing(io, async () => {
        const { config } = loadConfig({ path: options.config, env: io.env });
        // Read before anything else: a JWKS that cannot be used is bad input, not a verdict.
        const trusted = options.jwks === undefined ? undefined : await loadJwks(options.jwks);
        const started = performance.now();
        const verdict = options.backup
          ? await verifyBackupFile(io, config, options, trusted)
          : await withDatabase(config.storage, (db) => verifyDatabase(io, db, options, trusted));
        printVerdict(io, verdict, performance.now() - started, options.json === true);
      });
    });
}

type TrustedKeys = Awaited<ReturnType<typeof loadJwks>> | undefined;

async function verifyDatabase(
  io: CliIo,
  db: Database,
  options: VerifyOptions,
  trusted: TrustedKeys,
) {
  const log = openChainLog(db);
  const partitions = options.tenant
    ? [options.tenant, auditPartition(options.tenant)]
    : await log.partitions();
  return verifyWithProgress(io, log, partitions, checkpointChecks(db, trusted));
}

/**
 * The checkpoints of the database (or loaded backup) under test, and the keys that
 * check them: the JWKS the auditor gave, or else that database's own `signing_keys`,
 * every key ever, public halves only (the master key is never asked for: nothing here
 * signs or opens a private key). Keys read from the database an attacker can write
 * prove nothing against that attacker; a JWKS kept elsewhere does.
 */
function checkpointChecks(db: Database, trusted: TrustedKeys): CheckpointChecks {
  const store = createCheckpointStore(db.kysely);
  if (trusted) {
    return { store, keyring: checkpointKeyring((kid) => trusted.find((key) => key.kid === kid)) };
  }
  const keys = createSigningKeys(
    db,
    () => {
      throw new Error('tessera ledger verify never opens a private signing key');
    },
    { accessTtlSeconds: 0 },
  );
  return { store, keyring: checkpointKeyring((kid) => keys.findAnyPublicKey(kid)) };
}

/** Loads the backup's events into a scratch SQLite file, then verifies that. */
async function verifyBackupFile(
  io: CliIo,
  config: ReturnType<typeof loadConfig>['config'],
  options: VerifyOptions,
  trusted: TrustedKeys,
) {
  const path = await backupPathOf(config, options.backup as string);
  const keys = backupKeys(config, io.env, true);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-'));
  try {
    const scratch = await openDatabase({ ...config.storage, data_dir: dir, database_url: '' });
    try {
      await withProgress(io, (onProgress) => loadLedgerFromBackup(scratch, path, keys, onProgress));
      return await verifyDatabase(io, scratch, options, trusted);
    } finally {
      await scratch.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function verifyWithProgress(
  io: CliIo,
  log: ChainLog,
  partitions: readonly string[],
  checkpoints: CheckpointChecks,
) {
  return withProgress(io, (onProgress) =>
    verifyPartitions(
      log,
      partitions,
      (progress) =>
        onProgress({
          phase: 'verify',
          table: progress.partition,
          rows: progress.checked,
          tableRows: progress.partitionEvents,
          doneRows: progress.doneEvents,
          totalRows: progress.totalEvents,
        }),
      checkpoints,
    ),
  );
}

function printVerdict(io: CliIo, verdict: PartitionsVerdict, ms: number, json: boolean): void {
  const rate = ms > 0 ? Math.round((verdict.checked * 1000) / ms) : 0;
  if (json) {
    const out = { ...verdict, broken: verdict.broken, ms: Math.round(ms), events_per_second: rate };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (verdict.ok) {
    io.stdout.write(
      `INTACT: ${verdict.partitions} partitions, ${verdict.checked} events verified (${rate} events/s)\n`,
    );
  } else {
    for (const { partition, position, reason, checkpoint } of verdict.broken) {
      const signed = checkpoint === undefined ? '' : ` (checkpoint at position ${checkpoint})`;
      io.stdout.write(`BROKEN: ${partition} at position ${position}: ${reason}${signed}\n`);
    }
  }
  const first = verdict.broken[0];
  if (first) {
    const detail = `the ledger is broken: first at ${first.partition} position ${first.position} (${first.reason})`;
    io.stderr.write(`tessera: ${detail}\n`);
    throw new CommanderError(EXIT_FAILURE, 'tessera.ledger_broken', detail);
  }
}

async function withDatabase<T>(
  storage: ReturnType<typeof loadConfig>['config']['storage'],
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(storage);
  try {
    await requireMigrated(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}
