import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { auditPartition } from '../audit/audit-entry.ts';
import { loadLedgerFromBackup } from '../backup/load-ledger.ts';
import { loadConfig } from '../config/load.ts';
import { backfillChains } from '../events/chain/backfill.ts';
import { openChainLog } from '../events/chain/chain-log.ts';
import { createSigningKeys } from '../identity/tokens/signing-keys.ts';
import { createCheckpointStore } from '../ledger/checkpoints/checkpoint-store.ts';
import { checkpointKeyring } from '../ledger/checkpoints/verify-checkpoint.ts';
import { loadJwks } from '../ledger/jwks-source.ts';
import type { CheckpointChecks } from '../ledger/verify-checkpoints.ts';
import type { PartitionsVerdict } from '../ledger/verify-partitions.ts';
import { verifyPartitionsInParallel } from '../ledger/verify-partitions-parallel.ts';
import { type Database, openDatabase } from '../storage/open-database.ts';
import { requireMigrated } from './admin-session.ts';
import { backupKeys, backupPathOf } from './backup-files.ts';
import { progressReporter } from './progress-bar.ts';
import { EXIT_FAILURE, EXIT_INTERRUPTED, runRefusing, withProgress } from './run-refusing.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

interface VerifyOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly tenant?: string;
  readonly backup?: string;
  readonly jwks?: string;
  readonly threads?: number;
  readonly rangeEvents?: number;
}

type Storage = ReturnType<typeof loadConfig>['config']['storage'];

/** More threads than this only wait on one another (and on the database). */
const MAX_THREADS = 16;
const MAX_RANGE_EVENTS = 100_000;

function wholeNumber(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    }
    return n;
  };
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
    .option(
      '--threads <n>',
      `verify on n worker threads, each with its own database connection (default: one per CPU, at most ${MAX_THREADS}; logs under 50,000 events on one); 1: on this thread alone`,
      wholeNumber(MAX_THREADS),
    )
    .option(
      '--range-events <n>',
      'events each thread verifies at a time, read in one query (default 5000); lower it for very large events, as each thread holds that many in memory',
      wholeNumber(MAX_RANGE_EVENTS),
    )
    .action(async (options: VerifyOptions) => {
      await runRefusing(io, async () => {
        const { config } = loadConfig({ path: options.config, env: io.env });
        // Read before anything else: a JWKS that cannot be used is bad input, not a verdict.
        const trusted = options.jwks === undefined ? undefined : await loadJwks(options.jwks);
        const started = performance.now();
        const verdict = await untilInterrupted(io, (signal) => {
          const run: VerifyRun = { io, options, trusted, signal };
          return options.backup
            ? verifyBackupFile(run, config)
            : withDatabase(config.storage, (db) => verifyDatabase(run, db, config.storage));
        });
        printVerdict(io, verdict, performance.now() - started, options.json === true);
      });
    });
}

type TrustedKeys = Awaited<ReturnType<typeof loadJwks>> | undefined;

/** One `ledger verify`: its options, the keys given, and Ctrl-C. */
interface VerifyRun {
  readonly io: CliIo;
  readonly options: VerifyOptions;
  readonly trusted: TrustedKeys;
  readonly signal: AbortSignal;
}

/**
 * Verifies `db`; `storage` opens it again, once per worker thread. With --threads the
 * threads are used whatever the log's size; by default a small log is verified here.
 */
async function verifyDatabase(run: VerifyRun, db: Database, storage: Storage) {
  const { io, options, signal } = run;
  const log = openChainLog(db);
  const partitions = options.tenant
    ? [options.tenant, auditPartition(options.tenant)]
    : await log.partitions();
  const threads = options.threads ?? Math.min(MAX_THREADS, Math.max(1, availableParallelism()));
  return withProgress(io, (onProgress) =>
    verifyPartitionsInParallel(storage, log, partitions, {
      threads,
      rangeEvents: options.rangeEvents,
      minEvents: options.threads === undefined ? undefined : 0,
      checkpoints: checkpointChecks(db, run.trusted),
      signal,
      onProgress: (progress) =>
        onProgress({
          phase: 'verify',
          table: progress.partition,
          rows: progress.checked,
          tableRows: progress.partitionEvents,
          doneRows: progress.doneEvents,
          totalRows: progress.totalEvents,
        }),
    }),
  );
}

/**
 * Runs `fn` with a signal that the first Ctrl-C aborts: the verification then stops,
 * its threads are terminated and its scratch files removed, and the command exits 130.
 * A second Ctrl-C ends the process at once (the listener is gone by then).
 */
async function untilInterrupted<T>(io: CliIo, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    return await fn(interrupt.signal);
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
    io.stderr.write('tessera: interrupted: nothing was concluded\n');
    throw new CommanderError(EXIT_INTERRUPTED, 'tessera.interrupted', 'interrupted');
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
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
async function verifyBackupFile(run: VerifyRun, config: ReturnType<typeof loadConfig>['config']) {
  const { io, options } = run;
  const path = await backupPathOf(config, options.backup as string);
  const keys = backupKeys(config, io.env, true);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-'));
  try {
    const storage: Storage = { ...config.storage, data_dir: dir, database_url: '' };
    const scratch = await openDatabase(storage);
    try {
      await withProgress(io, (onProgress) => loadLedgerFromBackup(scratch, path, keys, onProgress));
      run.signal.throwIfAborted();
      return await verifyDatabase(run, scratch, storage);
    } finally {
      await scratch.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

async function withDatabase<T>(storage: Storage, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(storage);
  try {
    await requireMigrated(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}
