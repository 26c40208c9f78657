import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../../config/schema.ts';
import type { ByEngine } from '../by-engine.ts';
import type { AnyKysely, Capabilities, DatabaseBase } from '../database.ts';
import { pingWithin } from '../ping-within.ts';
import { describePostgresUrl } from './describe-postgres-url.ts';
import { INT8_AS_NUMBER } from './int8-as-number.ts';
import { createPgChangeFeed } from './pg-change-feed.ts';

export interface PostgresDatabase extends DatabaseBase, ByEngine {
  readonly engine: 'postgres';
  /** For hand-written hot paths (COPY, unnest batches); Kysely shares this pool. */
  readonly pool: pg.Pool;
}

export interface PostgresOptions {
  /**
   * Errors of idle pooled connections (server restart, admin termination). The pool
   * drops the broken client and reconnects on demand; this only lets them be logged.
   */
  readonly onPoolError?: (error: Error) => void;
}

export const POSTGRES_CAPABILITIES: Capabilities = Object.freeze({
  concurrentWriters: true,
  transactionalDdl: true,
  nativeJson: true,
});

/** `pg_advisory_xact_lock` key of Tessera's schema lock: sha256("tessera:schema")[0..8] as int8. */
export const SCHEMA_LOCK_KEY = '-810299611742258821';

type PostgresStorage = Pick<Config['storage'], 'database_url' | 'pool_max' | 'connect_timeout_ms'>;

export async function openPostgres(
  storage: PostgresStorage,
  options: PostgresOptions = {},
): Promise<PostgresDatabase> {
  const location = describePostgresUrl(storage.database_url);
  const pool = new pg.Pool({
    connectionString: storage.database_url,
    max: storage.pool_max,
    connectionTimeoutMillis: storage.connect_timeout_ms,
    types: INT8_AS_NUMBER,
  });
  // Without a listener an idle client's error would crash the process.
  pool.on('error', (error) => options.onPoolError?.(error));
  // A checked-out client with no query running (a transaction awaiting application
  // code) has no pool listener: its error would be unhandled too. The failure still
  // reaches its user through the next query on that client.
  pool.on('connect', (client) => client.on('error', () => {}));

  await connectOnce(pool, location);

  const kysely: AnyKysely = new Kysely({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  const transaction = <T>(fn: (trx: AnyKysely) => Promise<T>): Promise<T> =>
    kysely.transaction().execute(fn);
  const changes = createPgChangeFeed({ pool });

  const db: PostgresDatabase = {
    engine: 'postgres',
    capabilities: POSTGRES_CAPABILITIES,
    kysely,
    pool,
    location,
    changes,
    transaction,
    exclusive: (fn) =>
      transaction(async (trx) => {
        // Released by COMMIT or ROLLBACK, so a crash can never leave it held.
        await sql`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY}::bigint)`.execute(trx);
        return await fn(trx);
      }),
    ping: (timeoutMs = 2000) => pingWithin(() => sql`SELECT 1`.execute(kysely), timeoutMs),
    close() {
      closing ??= (async () => {
        await changes.close();
        // Kysely ends the pool only if it ever used it; end it here otherwise.
        await kysely.destroy();
        if (!pool.ending) await pool.end();
      })();
      return closing;
    },
    byEngine: (choices) => choices.postgres(db),
  };
  return db;
}

/** Fails at start-up, naming the server, rather than on the first request. */
async function connectOnce(pool: pg.Pool, location: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`cannot connect to PostgreSQL at ${location}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    // Node's connect to a name with several addresses reports one error per address.
    return error.errors.map(describeError).join('; ');
  }
  if (error instanceof Error) return error.message || String(error);
  return String(error);
}
