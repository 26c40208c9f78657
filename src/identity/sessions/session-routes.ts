import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import type { SessionService, SessionView } from './session-service.ts';

export interface SessionRoutesOptions {
  readonly sessions: SessionService;
}

const Time = Type.String({ format: 'date-time' });
const Session = Type.Object({
  id: Type.String(),
  created_at: Time,
  last_used_at: Type.Union([Time, Type.Null()], {
    description: 'Updated at most once a minute.',
  }),
  expires_at: Time,
  ip: Type.Union([Type.String(), Type.Null()], { description: 'Of the last login or refresh.' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'True for the session of the calling token.' }),
});
const SessionPage = Type.Object({
  sessions: Type.Array(Session),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
const Revoked = Type.Object({
  revoked: Type.Integer({ description: 'How many sessions ended.' }),
});
const PageQuery = Type.Object(IdPageQuery, { additionalProperties: false });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Empty = Type.Null({ description: 'No content.' });
const tags = ['auth'];

const iso = (ms: number) => new Date(ms).toISOString();

function toPage(views: readonly SessionView[], limit: number, current: string | null) {
  return {
    sessions: views.map((view) => ({
      id: view.id,
      created_at: iso(view.created_ms),
      last_used_at: view.last_used_ms === null ? null : iso(view.last_used_ms),
      expires_at: iso(view.expires_ms),
      ip: view.ip,
      user_agent: view.user_agent,
      current: view.id === current,
    })),
    next_cursor: nextCursor(views, limit, (view) => view.id),
  };
}

/**
 * `/api/v1/auth/sessions`: a user's own sessions in the tenant of their token;
 * `/api/v1/users/{id}/sessions`: those of a member, for the tenant's administrators.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (
  app,
  { sessions },
) => {
  app.get(
    '/auth/sessions',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags,
        summary: 'Your live sessions in this tenant',
        querystring: PageQuery,
        response: { 200: SessionPage },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const views = await sessions.listOwn(actor, request.query);
      return toPage(views, request.query.limit, actor.principal.sessionId);
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags,
        summary: 'End one of your sessions (yours only)',
        params: Type.Object({ id: Id }),
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await sessions.revokeOwn(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/auth/sessions',
    {
      config: { access: 'authenticated', mfaSetup: true },
      schema: {
        tags,
        summary: 'End every other session of yours in this tenant; this one stays',
        response: { 200: Revoked },
      },
    },
    async (request) => ({ revoked: (await sessions.revokeOwnOthers(actorOf(request))).length }),
  );

  app.get(
    '/users/:id/sessions',
    {
      config: { access: 'users:manage' },
      schema: {
        tags: ['users'],
        summary: 'The live sessions of a member of your tenant',
        params: Type.Object({ id: Id }),
        querystring: PageQuery,
        response: { 200: SessionPage },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const views = await sessions.listOfUser(actor, request.params.id, request.query);
      return toPage(views, request.query.limit, actor.principal.sessionId);
    },
  );

  app.delete(
    '/users/:id/sessions',
    {
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags: ['users'],
        summary: 'End every session of a member in your tenant, at once',
        params: Type.Object({ id: Id }),
        response: { 200: Revoked },
      },
    },
    async (request) => ({
      revoked: (await sessions.revokeAllOfUser(actorOf(request), request.params.id)).length,
    }),
  );
};
