import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EventRoutesOptions } from '../event-routes.ts';
import { EntityId, Limit, Timestamp } from '../schemas.ts';
import { timeParam } from './time-param.ts';

const EntityState = Type.Object({
  entity_id: Type.String(),
  version: Type.Integer(),
  last_updated: Timestamp,
  state: Type.Unknown({
    description: 'Every payload up to `version` folded with JSON Merge Patch (RFC 7396).',
  }),
});

const Snapshot = Type.Object({
  entity_id: Type.String(),
  version: Type.Integer(),
  position: Type.Integer(),
  timestamp: Timestamp,
  created_at: Timestamp,
  state: Type.Unknown(),
});

const SnapshotPage = Type.Object({
  snapshots: Type.Array(Snapshot, { description: 'Newest first.' }),
  next_cursor: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'Pass as `after` for older snapshots; null at the end. A page holds fewer than `limit` snapshots when their JSON reached `storage.max_read_page_bytes` (never fewer than one): follow the cursor.',
  }),
});

export const stateRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events },
) => {
  app.get(
    '/entities/:entity_id/state',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['state'],
        summary: "An entity's current state, or as of a time",
        params: Type.Object({ entity_id: EntityId }),
        querystring: Type.Object(
          {
            as_of: Type.Optional({
              ...Timestamp,
              description: 'The state as it stood at this time (inclusive).',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: EntityState },
      },
    },
    (request) => {
      const { as_of } = request.query;
      return events.state.state(
        request.tenantId,
        request.params.entity_id,
        timeParam(as_of, 'as_of'),
      );
    },
  );

  app.post(
    '/snapshots',
    {
      config: { access: 'events:write' },
      schema: {
        tags: ['state'],
        summary: "Snapshot an entity's current state",
        body: Type.Object({ entity_id: EntityId }, { additionalProperties: false }),
        response: { 201: Snapshot },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await events.state.createSnapshot(request.tenantId, request.body.entity_id)),
  );

  app.get(
    '/snapshots',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['state'],
        summary: "An entity's snapshots, newest first",
        querystring: Type.Object(
          {
            entity_id: EntityId,
            after: Type.Optional(
              Type.Integer({ minimum: 0, description: 'Version cursor: snapshots older than it.' }),
            ),
            limit: Limit(20, 100),
          },
          { additionalProperties: false },
        ),
        response: { 200: SnapshotPage },
      },
    },
    async (request) => {
      const { entity_id, after, limit } = request.query;
      const { snapshots, full } = await events.state.listSnapshots(request.tenantId, entity_id, {
        after_version: after,
        limit,
      });
      const last = snapshots.at(-1);
      return { snapshots, next_cursor: full && last ? last.version : null };
    },
  );

  app.get(
    '/snapshots/:entity_id/latest',
    {
      config: { access: 'events:read' },
      schema: {
        tags: ['state'],
        summary: "An entity's newest snapshot",
        params: Type.Object({ entity_id: EntityId }),
        response: { 200: Snapshot },
      },
    },
    (request) => events.state.latestSnapshot(request.tenantId, request.params.entity_id),
  );
};
