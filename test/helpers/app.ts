import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { type Logger, pino } from 'pino';
import { buildApp, type TesseraApp } from '../../src/app.ts';
import { composeServices, type ServiceOptions, type Services } from '../../src/composition-root.ts';
import { defaultConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { AppLogger } from '../../src/http/logger.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import type { Database } from '../../src/storage/open-database.ts';
import { actAs, apiKeyFor } from './auth.ts';
import { openTestDatabase } from './test-database.ts';

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export interface TestApp {
  readonly app: TesseraApp;
  readonly db: Database;
  readonly config: Config;
  readonly services: Services;
  /** Closes the app, then the database, then removes it. Safe to call twice. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Apply migrations (default true); false leaves an empty database. */
  readonly migrate?: boolean;
  /**
   * The tenant whose admin API key every request without credentials carries
   * (default `default`); false: no credentials, for tests of authentication itself.
   */
  readonly actAs?: string | false;
  readonly redis?: Parameters<typeof buildApp>[0]['redis'];
  /** A logger to inspect; default: the configured level, which tests set to silent. */
  readonly logger?: AppLogger;
  /** The lockout's clock and sleep, for tests that must not wait on wall time. */
  readonly services?: ServiceOptions;
  /** Rate-limit key prefix, Redis retry interval and memory clock (see AppDeps). */
  readonly rateLimits?: Parameters<typeof buildApp>[0]['rateLimits'];
}

/**
 * The app on a fresh real database (SQLite, or PostgreSQL when the storage helper
 * lists it), with the default configuration plus `overrides`, logs silenced. The
 * app is not ready yet: a test may still add routes before its first `inject()`.
 */
export async function buildTestApp(
  overrides: DeepPartial<Config> = {},
  engine: Engine = 'sqlite',
  options: TestAppOptions = {},
): Promise<TestApp> {
  // Storage overrides go to the database helper, whose settings win (its data dir or URL).
  const { db, storage, cleanup } = await openTestDatabase(
    engine,
    overrides.storage as Partial<Config['storage']> | undefined,
  );
  const config = mergeConfig(defaultConfig(), [
    { logging: { level: 'silent' } },
    overrides,
    { storage },
  ]);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await app?.close();
    } finally {
      await cleanup();
    }
  };
  let app: TesseraApp | undefined;
  try {
    const migrate = options.migrate !== false;
    if (migrate) await migrateToLatest(db, MIGRATIONS);
    const services = composeServices(db, config, process.env, options.services);
    app = await buildApp({
      config,
      db,
      redis: options.redis,
      logger: options.logger,
      services,
      rateLimits: options.rateLimits,
    });
    const tenant = options.actAs ?? 'default';
    if (migrate && tenant !== false) actAs(app, await apiKeyFor(services, tenant));
    return { app, db, config, services, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Section by section: an override replaces only the settings it names. */
export function mergeConfig(base: Config, layers: readonly DeepPartial<Config>[]): Config {
  const merged: Record<string, object> = { ...base };
  for (const layer of layers) {
    for (const [section, values] of Object.entries(layer)) {
      merged[section] = { ...merged[section], ...(values as object) };
    }
  }
  return merged as unknown as Config;
}

const REDIS_URL_VARIABLE = 'TESSERA_TEST_REDIS_URL';

/**
 * The real Redis to test against (TESSERA_TEST_REDIS_URL). Unset: the test is
 * skipped locally, and fails in CI, where nothing may be skipped silently.
 */
export function testRedisUrl(t: TestContext): string | undefined {
  const url = process.env[REDIS_URL_VARIABLE];
  if (url) return url;
  if (process.env.CI === 'true')
    throw new Error(`${REDIS_URL_VARIABLE} must be set in CI: the Redis tests may not be skipped`);
  t.skip(`${REDIS_URL_VARIABLE} is not set`);
  return undefined;
}

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every JSON line written so far, parsed. */
  readonly lines: Record<string, unknown>[];
}

/** A real pino logger whose lines are kept in memory, for tests that assert on logs. */
export function captureLogs(level = 'info'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
