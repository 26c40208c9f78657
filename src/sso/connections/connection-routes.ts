import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import { ssoUrls } from '../sso-urls.ts';
import {
  Connection,
  ConnectionBody,
  ConnectionChangesBody,
  toConnectionJson,
} from './connection-schemas.ts';
import type { ConnectionService } from './connection-service.ts';
import type { TestTickets } from './test-ticket.ts';

const tags = ['sso'];
const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
// A connection can sign anyone in as a member: changing one is a sensitive act (step-up).
const manage = { access: 'sso:manage', stepUp: true } as const;
/** How long a test link works. */
const TEST_TTL_MS = 10 * 60 * 1000;

/** `/api/v1/sso/connections`: the caller's tenant's identity providers (docs/sso.md). */
export const ssoConnectionRoutes: FastifyPluginAsyncTypebox<{
  connections: ConnectionService;
  tickets: TestTickets;
  base: string;
}> = async (app, { connections, tickets, base }) => {
  const json = (connection: Parameters<typeof toConnectionJson>[0]) =>
    toConnectionJson(connection, base);

  app.post(
    '/sso/connections',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Add an OpenID Connect or SAML identity provider to the caller’s tenant',
        body: ConnectionBody,
        response: { 201: Connection },
      },
    },
    async (request, reply) =>
      reply.code(201).send(json(await connections.create(actorOf(request), request.body))),
  );

  app.get(
    '/sso/connections',
    {
      config: { access: 'sso:manage' },
      schema: {
        tags,
        summary: 'List the tenant’s SSO connections (never a client secret)',
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            connections: Type.Array(Connection),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await connections.list(actorOf(request), { after, limit });
      return {
        connections: page.map(json),
        next_cursor: nextCursor(page, limit, (last) => last.id),
      };
    },
  );

  app.get(
    '/sso/connections/:id',
    {
      config: { access: 'sso:manage' },
      schema: { tags, summary: 'One SSO connection', params: Id, response: { 200: Connection } },
    },
    async (request) => json(await connections.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/sso/connections/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Change an SSO connection (enable, disable, settings, domains, mapping)',
        params: Id,
        body: ConnectionChangesBody,
        response: { 200: Connection },
      },
    },
    async (request) =>
      json(await connections.update(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/sso/connections/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Delete an SSO connection, its domains and links',
        params: Id,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await connections.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/sso/connections/:id/test',
    {
      config: { access: 'sso:manage' },
      schema: {
        tags,
        summary:
          'A link that runs a sign-in through the connection (enabled or not) and shows what the IdP sent and the roles it would give; it signs nobody in',
        params: Id,
        response: {
          200: Type.Object({ url: Type.String(), expires_in: Type.Integer() }),
        },
      },
    },
    async (request) => {
      const found = await connections.get(actorOf(request), request.params.id);
      const ticket = tickets.issue(found.id, TEST_TTL_MS);
      return {
        url: `${ssoUrls(base, found.id).start}?test=${encodeURIComponent(ticket)}`,
        expires_in: TEST_TTL_MS / 1000,
      };
    },
  );
};
