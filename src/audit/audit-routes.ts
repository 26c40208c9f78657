import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { timeParam } from '../events/routes/time-param.ts';
import { EventType, StoredEventSchema, Timestamp } from '../events/schemas.ts';
import type { EventService } from '../events/service.ts';
import { AUDIT_OUTCOMES } from './audit-entry.ts';
import { queryAudit } from './audit-query.ts';

const AuditQuery = Type.Object(
  {
    action: Type.Optional(
      Type.Array(EventType, { maxItems: 100, description: 'Repeatable: any of these actions.' }),
    ),
    actor: Type.Optional(
      Type.String({ maxLength: 128, description: 'A user or API key id, or `cli`.' }),
    ),
    target: Type.Optional(
      Type.String({ maxLength: 300, description: 'As recorded, e.g. `user:<id>`.' }),
    ),
    outcome: Type.Optional(Type.Union(AUDIT_OUTCOMES.map((outcome) => Type.Literal(outcome)))),
    since: Type.Optional({ ...Timestamp, description: 'At or after this time (RFC 3339).' }),
    until: Type.Optional({ ...Timestamp, description: 'Before this time (RFC 3339).' }),
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'The `next_cursor` of the previous page.' }),
    ),
    limit: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 100,
      description: '1-1000, default 100.',
    }),
    order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
      default: 'desc',
      description: 'desc (default): newest first.',
    }),
  },
  { additionalProperties: false },
);

/** `GET /api/v1/audit`: the caller's tenant's audit trail (`audit:read`). */
export const auditRoutes: FastifyPluginAsyncTypebox<{
  events: Pick<EventService, 'query'>;
  /** `storage.max_read_page_bytes`: a page's events carry at most this much JSON. */
  maxPageBytes: number;
}> = async (app, { events, maxPageBytes }) => {
  app.get(
    '/audit',
    {
      config: { access: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail: every change, failed login and denied request of the tenant',
        querystring: AuditQuery,
        response: {
          200: Type.Object({
            events: Type.Array(StoredEventSchema),
            count: Type.Integer(),
            next_cursor: Type.Union([Type.Integer(), Type.Null()], {
              description:
                'Pass as `after` to continue; null at the end. A page may hold fewer than `limit` events when few match or when their JSON reached `storage.max_read_page_bytes` (never fewer than one): follow the cursor.',
            }),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await queryAudit(events, request.tenantId, {
        actions: q.action,
        actor: q.actor,
        target: q.target,
        outcome: q.outcome,
        since_ms: timeParam(q.since, 'since'),
        until_ms: timeParam(q.until, 'until'),
        after: q.after,
        order: q.order,
        limit: q.limit,
        max_bytes: maxPageBytes,
      });
      return { ...page, count: page.events.length };
    },
  );
};
