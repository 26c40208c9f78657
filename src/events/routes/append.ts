import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { fieldErrors } from '../../http/validation.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { EventRoutesOptions } from '../event-routes.ts';
import type { AppendSuccess } from '../model.ts';
import {
  AppendedEventSchema,
  EntityId,
  EventId,
  EventType,
  ExpectedVersion,
  Metadata,
  NewEventBody,
} from '../schemas.ts';

const AppendBody = Type.Object(
  {
    events: Type.Array(NewEventBody, { minItems: 1 }),
    expected_version: Type.Optional(ExpectedVersion),
  },
  { additionalProperties: false },
);

const AppendResult = Type.Object({
  entity_id: Type.String(),
  last_version: Type.Integer(),
  events: Type.Array(Type.Omit(AppendedEventSchema, ['entity_id'])),
});

const IngestEvent = Type.Object(
  {
    id: Type.Optional(EventId),
    entity_id: EntityId,
    event_type: EventType,
    payload: Type.Unknown({ description: 'Any JSON value.' }),
    metadata: Type.Optional(Metadata),
    expected_version: Type.Optional(ExpectedVersion),
  },
  { additionalProperties: false },
);
const IngestBatch = Type.Object(
  { events: Type.Array(IngestEvent, { minItems: 1 }) },
  { additionalProperties: false },
);
const IngestBody = Type.Union([IngestEvent, IngestBatch], {
  description: 'One event, or `{events: [...]}` across many entities (atomic).',
});

const IngestResult = Type.Object({
  events: Type.Array(AppendedEventSchema),
  last_versions: Type.Record(Type.String(), Type.Integer(), {
    description: 'Each entity’s version after the append.',
  }),
});

const EntityParams = Type.Object({ entity_id: EntityId });

/** 201 for a new append; 200 when the request was an idempotent retry and nothing was written. */
const statusOf = (result: AppendSuccess) => (result.duplicate ? 200 : 201);

export const appendRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (
  app,
  { events },
) => {
  app.post(
    '/entities/:entity_id/events',
    {
      config: { access: 'events:write' },
      schema: {
        tags: ['events'],
        summary: 'Append events to one entity, atomically, with an optional expected version',
        params: EntityParams,
        body: AppendBody,
        response: { 200: AppendResult, 201: AppendResult },
      },
    },
    async (request, reply) => {
      const { entity_id } = request.params;
      const body = request.body;
      const result = await events.service.appendToEntity(
        request.tenantId,
        entity_id,
        body.events,
        body.expected_version ?? 'any',
        (index) => `/events/${index}`,
      );
      return reply.code(statusOf(result)).send({
        entity_id,
        last_version: result.last_versions[entity_id] as number,
        events: result.events.map(({ id, version, position }) => ({ id, version, position })),
      });
    },
  );

  app.post(
    '/events',
    {
      config: { access: 'events:write' },
      // The union's own errors ("must match a schema in anyOf") name no field; the
      // handler re-validates against the shape the client meant, for precise paths.
      attachValidation: true,
      schema: {
        tags: ['events'],
        summary: 'Ingest one event or a batch across entities (AllSource-compatible), atomically',
        body: IngestBody,
        response: { 200: IngestResult, 201: IngestResult },
      },
    },
    async (request, reply) => {
      if (request.validationError) throwPreciseError(request);
      const body = request.body;
      const batch = 'events' in body ? body.events : [body as Static<typeof IngestEvent>];
      const pathOf = 'events' in body ? (index: number) => `/events/${index}` : () => '';
      const result = await events.service.ingest(request.tenantId, batch, pathOf);
      return reply
        .code(statusOf(result))
        .send({ events: [...result.events], last_versions: result.last_versions });
    },
  );
};

function throwPreciseError(request: FastifyRequest): never {
  const body: unknown = request.body;
  const isBatch =
    typeof body === 'object' && body !== null && !Array.isArray(body) && 'events' in body;
  const validate = request.compileValidationSchema(isBatch ? IngestBatch : IngestEvent, 'body');
  validate(body);
  const errors = fieldErrors(validate.errors ?? [], 'body');
  if (errors.length === 0)
    errors.push({ path: '', message: 'must be one event or {events: [...]}' });
  throw validationFailed(errors);
}
