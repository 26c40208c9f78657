import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { Jwk } from '../../identity/tokens/well-known-routes.ts';
import { checkpointPayload, type StoredCheckpoint } from './checkpoint-jws.ts';
import type { CheckpointService } from './checkpoint-service.ts';

/** Long enough to spare us every request; an auditor meeting an unknown kid fetches again. */
const KEYS_CACHE_CONTROL = 'public, max-age=300';

const Log = Type.Union([Type.Literal('events'), Type.Literal('audit')], {
  description: '`events`: the tenant’s event log; `audit`: its audit trail.',
});

const Checkpoint = Type.Object(
  {
    partition: Type.String({
      description: 'The chain signed: the JWS payload’s `tenant_id` (`acme`, `$audit:acme`).',
    }),
    position: Type.Integer({ description: 'The position of the chain’s last event signed.' }),
    hash: Type.String({ description: 'That event’s chain hash (64 lowercase hex digits).' }),
    chained: Type.Integer({ description: 'How many events the chain held.' }),
    timestamp: Type.String({ description: 'When it was signed (RFC 3339, UTC).' }),
    kid: Type.String({ description: 'The signing key, in `GET /api/v1/ledger/keys`.' }),
    jws: Type.String({ description: 'Compact JWS (EdDSA) over the canonical payload.' }),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    partition: Type.Optional({ ...Log, default: 'events' }),
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'The `next_cursor` of the previous page.' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: '1-1000.' }),
  },
  { additionalProperties: false },
);

function toCheckpointJson(row: StoredCheckpoint) {
  const { tenant_id: _, ...signed } = checkpointPayload(row);
  return { partition: row.partition, ...signed, chained: row.chained, kid: row.kid, jws: row.jws };
}

/** Signed checkpoints of the tenant's chains (issue 22 item 2) and the keys verifying them. */
export const checkpointRoutes: FastifyPluginAsyncTypebox<{
  checkpoints: CheckpointService;
}> = async (app, { checkpoints }) => {
  const tags = ['ledger'];

  app.post(
    '/ledger/checkpoints',
    {
      config: { access: 'audit:verify' },
      schema: {
        tags,
        summary: 'Checkpoint the tenant’s event log and audit trail now, where they moved',
        response: {
          200: Type.Object({
            checkpoints: Type.Array(
              Type.Object({
                ...Checkpoint.properties,
                log: Log,
                created: Type.Boolean({
                  description: 'False: the latest checkpoint, its chain has not moved since.',
                }),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const made = await checkpoints.checkpointNow(actorOf(request));
      return {
        checkpoints: made.map(({ log, checkpoint, created }) => ({
          ...toCheckpointJson(checkpoint),
          log,
          created,
        })),
      };
    },
  );

  app.get(
    '/ledger/checkpoints',
    {
      config: { access: 'audit:verify' },
      schema: {
        tags,
        summary: 'The tenant’s signed checkpoints of one log, oldest first',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            checkpoints: Type.Array(Checkpoint),
            next_cursor: Type.Union([Type.Integer(), Type.Null()], {
              description: 'Pass as `after` to continue; null at the end.',
            }),
          }),
        },
      },
    },
    async (request) => {
      const { partition = 'events', after, limit } = request.query;
      // One more than asked: whether another page exists, without an empty last page.
      const rows = await checkpoints.list(actorOf(request), {
        log: partition,
        after,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        checkpoints: page.map(toCheckpointJson),
        next_cursor: rows.length > limit ? (page.at(-1)?.position ?? null) : null,
      };
    },
  );

  app.get(
    '/ledger/keys',
    {
      // Public keys are public (as `/.well-known/jwks.json` is): an auditor with a
      // backup and no account checks its checkpoints with them.
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'Every public key that may have signed a checkpoint, retired ones included (JWK Set)',
        response: { 200: Type.Object({ keys: Type.Array(Jwk) }, { additionalProperties: false }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', KEYS_CACHE_CONTROL);
      return { keys: await checkpoints.publicKeys() };
    },
  );
};
