import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { buildApp } from './app.ts';
import { composeServices } from './composition-root.ts';
import type { Config } from './config/schema.ts';
import { backfillLogged } from './events/chain/backfill-logged.ts';
import { openChainLog } from './events/chain/chain-log.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { openRedis } from './platform/redis.ts';
import { TESSERA_VERSION } from './platform/version.ts';
import { ensureDeploymentId } from './storage/deployment.ts';
import { migrateToLatest } from './storage/migrate.ts';
import type { Database } from './storage/open-database.ts';
import { openDatabase } from './storage/open-database.ts';
import { bootstrapPlatformAdmin } from './tenancy/users/bootstrap-admin.ts';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight requests finish (bounded), closes the database. */
  stop(reason: string): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logging.level, base: { service: 'tessera' } });
}

/**
 * Opens the database, applies migrations under the schema lock (so nodes starting
 * together are safe), builds the app and listens. The caller decides when to stop.
 */
export async function startServer(
  config: Config,
  logger = createLogger(config),
): Promise<RunningServer> {
  const db = await openDatabase(config.storage, {
    // An idle pooled connection dropped by PostgreSQL is replaced on next use; log it.
    onPoolError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  let redis: Redis | undefined;
  try {
    const { applied } = await migrateToLatest(db, MIGRATIONS);
    const deploymentId = await ensureDeploymentId(db);
    logger.info(
      { engine: db.engine, location: db.location, applied, deployment_id: deploymentId },
      'database ready',
    );
    // Chains what was stored unhashed (before migration 0018) before any append can
    // add to the chains; one cheap query when there is nothing to do.
    await backfillLogged(openChainLog(db), config.ledger.backfill_batch, logger);
    const services = composeServices(db, config);
    const { kid, created } = await services.identity.keys.ensureKey();
    if (created) logger.info({ kid }, 'created the first token signing key');
    await bootstrapPlatformAdmin(db, process.env, logger, {
      passwordMinLength: config.auth.password_min_length,
    });
    redis = config.redis.url ? openRedis(config.redis.url, logger) : undefined;
    const app = await buildApp({ config, db, redis, logger, services });
    await app.listen({ host: config.server.host, port: config.server.port });
    logger.info({ version: TESSERA_VERSION }, 'tessera is serving');
    return {
      app,
      db,
      logger,
      stop: (reason) => stopServer({ app, db, redis, logger, config }, reason),
    };
  } catch (error) {
    redis?.disconnect();
    await db.close();
    throw error;
  }
}

export interface StopParts {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly redis: Redis | undefined;
  readonly logger: Logger;
  readonly config: Config;
}

export async function stopServer(parts: StopParts, reason: string): Promise<void> {
  const { app, db, redis, logger, config } = parts;
  logger.info({ reason, timeout_ms: config.server.shutdown_timeout_ms }, 'shutting down');
  // app.close() stops accepting and waits for in-flight requests; a client that
  // holds a request open past the timeout must not keep the process alive.
  const deadline = setTimeout(() => {
    logger.warn('shutdown timeout reached: closing remaining connections');
    app.server.closeAllConnections();
  }, config.server.shutdown_timeout_ms);
  try {
    await app.close();
  } finally {
    clearTimeout(deadline);
    redis?.disconnect();
    await db.close();
  }
  logger.info('stopped');
}
