import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { type Static, Type } from 'typebox';
import { MIGRATIONS } from '../migrations/index.ts';
import { pingRedis } from '../platform/redis.ts';
import { TESSERA_VERSION } from '../platform/version.ts';
import { migrationStatus } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';

const DATABASE_PING_TIMEOUT_MS = 2000;
const REDIS_PING_TIMEOUT_MS = 1000;

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable')], {
    description: '"degraded": the database answers but the optional Redis does not.',
  }),
  version: Type.String(),
  uptime_seconds: Type.Number({ minimum: 0, description: 'Seconds since this process started.' }),
  database: Type.Object({
    engine: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    ok: Type.Boolean(),
  }),
  redis: Type.Optional(
    Type.Object({ ok: Type.Boolean() }, { description: 'Present when redis.url is set.' }),
  ),
});

const Check = Type.Union([Type.Literal('database'), Type.Literal('migrations')]);

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  failed: Type.Array(Check, { description: 'The checks that failed; empty when ready.' }),
  database: Type.Object({ ok: Type.Boolean() }),
  migrations: Type.Optional(
    Type.Object(
      {
        ok: Type.Boolean(),
        current: Type.Integer({ description: 'Highest applied migration.' }),
        latest: Type.Integer({ description: 'Highest migration this version of Tessera knows.' }),
        pending: Type.Array(Type.Integer()),
      },
      { description: 'Absent when the database could not be asked.' },
    ),
  ),
});

const Liveness = Type.Object({ status: Type.Literal('alive') });

/** The probes: never refused by IP filters or rate limits, so orchestrators always get an answer. */
export const PROBE_PATHS = ['/health', '/readiness', '/liveness'] as const;

export interface HealthOptions {
  readonly db: Database;
  readonly redis?: Redis | undefined;
}

/**
 * Probes for orchestrators and humans. They describe state rather than report a
 * failed request, so a 503 here carries the same document as the 200, not a problem.
 */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (
  app,
  { db, redis },
) => {
  const tags = ['platform'];

  app.get(
    '/health',
    {
      schema: {
        summary: 'Health of this node and its dependencies',
        tags,
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const [databaseOk, redisOk] = await Promise.all([
        db.ping(DATABASE_PING_TIMEOUT_MS),
        redis ? pingRedis(redis, REDIS_PING_TIMEOUT_MS) : undefined,
      ]);
      const status = !databaseOk ? 'unavailable' : redisOk === false ? 'degraded' : 'ok';
      const body: Static<typeof Health> = {
        status,
        version: TESSERA_VERSION,
        uptime_seconds: Math.round(process.uptime() * 1000) / 1000,
        database: { engine: db.engine, ok: databaseOk },
        ...(redisOk === undefined ? {} : { redis: { ok: redisOk } }),
      };
      return reply.code(databaseOk ? 200 : 503).send(body);
    },
  );

  app.get(
    '/readiness',
    {
      schema: {
        summary: 'Whether this node should receive traffic',
        description:
          'Ready when the database answers and every migration this code knows is applied.',
        tags,
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      const body = await readiness(db, (error) =>
        request.log.warn({ err: error }, 'readiness: migration status failed'),
      );
      return reply.code(body.status === 'ready' ? 200 : 503).send(body);
    },
  );

  app.get(
    '/liveness',
    {
      schema: { summary: 'Whether the process answers at all', tags, response: { 200: Liveness } },
    },
    async () => ({ status: 'alive' as const }),
  );
};

async function readiness(
  db: Database,
  onError: (error: unknown) => void,
): Promise<Static<typeof Readiness>> {
  if (!(await db.ping(DATABASE_PING_TIMEOUT_MS))) {
    return { status: 'not_ready', failed: ['database'], database: { ok: false } };
  }
  try {
    const { current, latest, pending } = await migrationStatus(db, MIGRATIONS);
    // current > latest: a newer Tessera migrated this database; this code must not serve it.
    const ok = pending.length === 0 && current <= latest;
    return {
      status: ok ? 'ready' : 'not_ready',
      failed: ok ? [] : ['migrations'],
      database: { ok: true },
      migrations: { ok, current, latest, pending },
    };
  } catch (error) {
    onError(error);
    return { status: 'not_ready', failed: ['migrations'], database: { ok: true } };
  }
}
