import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import type { LockoutAdmin, LockoutList } from './lockout-service.ts';

const iso = (ms: number) => new Date(ms).toISOString();

const LockedAccount = Type.Object({
  kind: Type.Literal('user'),
  user_id: Type.String(),
  email: Type.String(),
  locked_at: Type.String({ format: 'date-time' }),
  locked_until: Type.String({ format: 'date-time' }),
});

const SlowedIp = Type.Object({
  kind: Type.Literal('ip'),
  ip: Type.String(),
  failures: Type.Integer({ description: 'Failed logins from the IP still counted.' }),
  delay_ms: Type.Integer({ description: 'How long its next login waits before an answer.' }),
  last_failure_at: Type.String({ format: 'date-time' }),
});

function toJson(list: LockoutList) {
  if (list.kind === 'ip') {
    return list.items.map((item) => ({
      kind: 'ip' as const,
      ip: item.ip,
      failures: item.failures,
      delay_ms: item.delay_ms,
      last_failure_at: iso(item.last_failure_ms),
    }));
  }
  return list.items.map((item) => ({
    kind: 'user' as const,
    user_id: item.user_id,
    email: item.email,
    locked_at: iso(item.locked_ms),
    locked_until: iso(item.locked_until_ms),
  }));
}

/**
 * `/api/v1/lockouts`: locked accounts (tenant administrators: their members'; platform
 * administrators: all) and slowed client IPs (platform only), and clearing them.
 */
export const lockoutRoutes: FastifyPluginAsyncTypebox<{ lockouts: LockoutAdmin }> = async (
  app,
  { lockouts },
) => {
  app.get(
    '/lockouts',
    {
      config: { access: 'users:manage' },
      schema: {
        tags: ['lockouts'],
        summary: 'List locked accounts, or (platform administrators) slowed client IPs',
        querystring: Type.Object(
          {
            kind: Type.Union([Type.Literal('user'), Type.Literal('ip')], {
              default: 'user',
              description: '`user`: locked accounts; `ip`: slowed IPs (needs platform:network).',
            }),
            tenant_id: Type.Optional(
              Type.String({
                maxLength: 63,
                description: 'Platform administrators: only members of this tenant.',
              }),
            ),
            ...IdPageQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            lockouts: Type.Union([Type.Array(LockedAccount), Type.Array(SlowedIp)]),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { kind, tenant_id, after, limit } = request.query;
      const list = await lockouts.list(actorOf(request), { kind, tenant_id, after, limit });
      return {
        lockouts: toJson(list),
        next_cursor:
          list.kind === 'ip'
            ? nextCursor(list.items, limit, (item) => item.ip)
            : nextCursor(list.items, limit, (item) => item.user_id),
      };
    },
  );

  app.delete(
    '/lockouts/users/:user_id',
    {
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags: ['lockouts'],
        summary: 'Unlock an account (and forget its failed logins)',
        params: Type.Object({ user_id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await lockouts.unlockAccount(actorOf(request), request.params.user_id);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/lockouts/ips/:ip',
    {
      config: { access: 'platform:network', stepUp: true },
      schema: {
        tags: ['lockouts'],
        summary: 'Forget the failed logins of a client IP, ending its slowing',
        params: Type.Object({ ip: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await lockouts.clearIp(actorOf(request), request.params.ip);
      return reply.code(204).send(null);
    },
  );
};
