import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import {
  ClientChangesBody,
  ClientRegistrationBody,
  OAuthClient,
  OAuthClientWithSecret,
  RegisteredOAuthClient,
  toOAuthClient,
} from './oauth-client-schemas.ts';
import type { OAuthClientService } from './oauth-client-service.ts';

const tags = ['oauth'];
const ClientId = Type.Object({ id: Type.String({ maxLength: 64 }) });
// Registering, changing or deleting a client or its secret hands out access: step-up.
const manage = { access: 'clients:manage', stepUp: true } as const;

/** `/api/v1/oauth/clients`: the OAuth clients of the caller's tenant (docs/oidc.md, Registering clients). */
export const oauthClientRoutes: FastifyPluginAsyncTypebox<{ clients: OAuthClientService }> = async (
  app,
  { clients },
) => {
  app.post(
    '/oauth/clients',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Register an OAuth client in the caller’s tenant; its secret is shown once',
        body: ClientRegistrationBody,
        response: { 201: RegisteredOAuthClient },
      },
    },
    async (request, reply) => {
      const { record, secret } = await clients.create(actorOf(request), request.body);
      const shown = secret === null ? {} : { client_secret: secret };
      return reply.code(201).send({ ...toOAuthClient(record), ...shown });
    },
  );

  app.get(
    '/oauth/clients',
    {
      config: { access: 'clients:manage' },
      schema: {
        tags,
        summary: 'List the tenant’s OAuth clients (never their secrets)',
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            clients: Type.Array(OAuthClient),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await clients.list(request.tenantId, { after, limit });
      return {
        clients: page.map(toOAuthClient),
        next_cursor: nextCursor(page, limit, (client) => client.id),
      };
    },
  );

  app.get(
    '/oauth/clients/:id',
    {
      config: { access: 'clients:manage' },
      schema: {
        tags,
        summary: 'One OAuth client of the tenant (never its secret)',
        params: ClientId,
        response: { 200: OAuthClient },
      },
    },
    async (request) => toOAuthClient(await clients.get(request.tenantId, request.params.id)),
  );

  app.patch(
    '/oauth/clients/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Change an OAuth client’s settings (not its type or grant types)',
        params: ClientId,
        body: ClientChangesBody,
        response: { 200: OAuthClient },
      },
    },
    async (request) =>
      toOAuthClient(await clients.update(actorOf(request), request.params.id, request.body)),
  );

  app.post(
    '/oauth/clients/:id/secret',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Give a confidential client a new secret, shown once; the old one stops at once',
        params: ClientId,
        response: { 200: OAuthClientWithSecret },
      },
    },
    async (request) => {
      const { record, secret } = await clients.rotateSecret(actorOf(request), request.params.id);
      return { ...toOAuthClient(record), client_secret: secret };
    },
  );

  app.delete(
    '/oauth/clients/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Delete an OAuth client of the tenant; it stops working at once',
        params: ClientId,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await clients.delete(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
