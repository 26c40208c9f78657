import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import {
  Attempt,
  Endpoint,
  EndpointBody,
  EndpointChangesBody,
  EndpointWithSecret,
  toAttemptJson,
  toEndpointJson,
} from './endpoint-schemas.ts';
import type { EndpointService } from './endpoint-service.ts';

const tags = ['webhooks'];
const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const AttemptId = Type.Object({
  id: Type.String({ maxLength: 64 }),
  delivery_id: Type.String({ maxLength: 64 }),
});
// An endpoint sends the tenant's data out: changing where or what is a sensitive act.
const manage = { access: 'webhooks:manage', stepUp: true } as const;
const read = { access: 'webhooks:manage' } as const;

/** `/api/v1/webhooks`: the caller's tenant's webhook endpoints (docs/webhooks.md). */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ endpoints: EndpointService }> = async (
  app,
  { endpoints },
) => {
  app.post(
    '/webhooks',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Add a webhook endpoint; its signing secret is in this answer only',
        body: EndpointBody,
        response: { 201: EndpointWithSecret },
      },
    },
    async (request, reply) => {
      const made = await endpoints.create(actorOf(request), request.body);
      return reply.code(201).send({ ...toEndpointJson(made.endpoint), secret: made.secret });
    },
  );

  app.get(
    '/webhooks',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the tenant’s webhook endpoints (never a secret)',
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            webhooks: Type.Array(Endpoint),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await endpoints.list(actorOf(request), { after, limit });
      return {
        webhooks: page.map((endpoint) => toEndpointJson(endpoint)),
        next_cursor: nextCursor(page, limit, (last) => last.id),
      };
    },
  );

  app.get(
    '/webhooks/:id',
    {
      config: read,
      schema: { tags, summary: 'One webhook endpoint', params: Id, response: { 200: Endpoint } },
    },
    async (request) => toEndpointJson(await endpoints.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Change a webhook endpoint (URL, filters, enable, disable)',
        params: Id,
        body: EndpointChangesBody,
        response: { 200: Endpoint },
      },
    },
    async (request) =>
      toEndpointJson(await endpoints.update(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/webhooks/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Delete a webhook endpoint and its delivery log',
        params: Id,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await endpoints.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/secret/rotate',
    {
      config: manage,
      schema: {
        tags,
        summary:
          'A new signing secret, shown once; the old one signs beside it for webhooks.secret_grace_seconds',
        params: Id,
        response: { 200: EndpointWithSecret },
      },
    },
    async (request) => {
      const rotated = await endpoints.rotateSecret(actorOf(request), request.params.id);
      return { ...toEndpointJson(rotated.endpoint), secret: rotated.secret };
    },
  );

  app.post(
    '/webhooks/:id/replay',
    {
      config: manage,
      schema: {
        tags,
        summary:
          'Deliver again, in order, everything from a log position on (same webhook-id per event)',
        params: Id,
        body: Type.Object(
          { from_position: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
          { additionalProperties: false },
        ),
        response: { 200: Endpoint },
      },
    },
    async (request) =>
      toEndpointJson(
        await endpoints.replay(actorOf(request), request.params.id, request.body.from_position),
      ),
  );

  app.post(
    '/webhooks/:id/test',
    {
      config: read,
      schema: {
        tags,
        summary: 'Send a signed test ping (tessera.webhook.test) now and answer how it went',
        params: Id,
        response: { 200: Attempt },
      },
    },
    async (request) => toAttemptJson(await endpoints.ping(actorOf(request), request.params.id)),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: read,
      schema: {
        tags,
        summary: 'The endpoint’s delivery log, newest first: one entry per attempt',
        params: Id,
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            deliveries: Type.Array(Attempt),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await endpoints.deliveries(actorOf(request), request.params.id, {
        before: after,
        limit,
      });
      return {
        deliveries: page.map(toAttemptJson),
        next_cursor: nextCursor(page, limit, (last) => last.id),
      };
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:delivery_id/retry',
    {
      config: read,
      schema: {
        tags,
        summary: 'Send a logged delivery’s message again now (out of order, same webhook-id)',
        params: AttemptId,
        response: { 200: Attempt },
      },
    },
    async (request) =>
      toAttemptJson(
        await endpoints.retry(actorOf(request), request.params.id, request.params.delivery_id),
      ),
  );
};
