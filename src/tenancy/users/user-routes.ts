import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import { Invited, invitedJson } from '../invitations/invitation-json.ts';
import { toUserJson } from '../org-json.ts';
import type { UserAdminService } from './user-admin-service.ts';

export interface UserRoutesOptions {
  readonly users: UserAdminService;
}

const Time = Type.String({ format: 'date-time' });
const Status = Type.Union([Type.Literal('active'), Type.Literal('deactivated')]);
const RoleName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_-]*$' });
const Roles = Type.Array(RoleName, { minItems: 1, maxItems: 32 });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  status: Status,
  email_verified: Type.Boolean(),
  created_at: Time,
  joined_at: Type.String({ format: 'date-time', description: 'When they joined this tenant.' }),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ListQuery = Type.Object(
  {
    ...IdPageQuery,
    status: Type.Optional(Status),
    role: Type.Optional(RoleName),
    team: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A team id.' })),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Part of the email or name.' }),
    ),
  },
  { additionalProperties: false },
);
const Empty = Type.Null({ description: 'No content.' });
const tags = ['users'];

const toJson = toUserJson;

/** A sensitive write (grants or removes access) needs a recent second factor (issue 18). */
const one = (summary: string, access: 'users:read' | 'users:manage', stepUp = false) => ({
  config: { access, stepUp },
  schema: { tags, summary, params: IdParams, response: { 200: User } },
});

/** `/api/v1/users`: the members of the caller's tenant, managed by its administrators. */
export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, { users }) => {
  app.post(
    '/users',
    {
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags,
        summary:
          'Invite the user of that email (created if new); platform administrators add directly',
        description:
          'A tenant administrator gets 202 `invited` whether or not the email belonged to an identity: the user joins by accepting (`/auth/invitations`). A platform administrator adds the user at once (201).',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            name: Name,
            roles: Roles,
            password: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 1024,
                description: 'For a new identity only: an existing one keeps theirs.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ ...User.properties, created: Type.Boolean() }),
          202: Invited,
        },
      },
    },
    async (request, reply) => {
      const outcome = await users.create(actorOf(request), request.body);
      if (outcome.kind === 'invited') return reply.code(202).send(invitedJson(outcome.answer));
      return reply.code(201).send({ ...toJson(outcome.user), created: outcome.created });
    },
  );

  app.get(
    '/users',
    {
      config: { access: 'users:read' },
      schema: {
        tags,
        summary: 'List the users of this tenant by id, filtered',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            users: Type.Array(User),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const page = await users.list(actorOf(request), request.query);
      return {
        users: page.map(toJson),
        next_cursor: nextCursor(page, request.query.limit, (user) => user.id),
      };
    },
  );

  app.get('/users/:id', one('One user of this tenant', 'users:read'), async (request) =>
    toJson(await users.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/users/:id',
    {
      config: { access: 'users:manage' },
      schema: {
        tags,
        summary: 'Rename a user (the name is the same in all their tenants)',
        params: IdParams,
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 200: User },
      },
    },
    async (request) =>
      toJson(await users.update(actorOf(request), request.params.id, request.body)),
  );

  app.post(
    '/users/:id/deactivate',
    one('Deactivate the user here; their sessions here end at once', 'users:manage', true),
    async (request) => toJson(await users.deactivate(actorOf(request), request.params.id)),
  );

  app.post(
    '/users/:id/activate',
    one('Activate a deactivated user again', 'users:manage', true),
    async (request) => toJson(await users.activate(actorOf(request), request.params.id)),
  );

  app.put(
    '/users/:id/roles',
    {
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Replace the user’s roles in this tenant; nobody grants more than they hold',
        params: IdParams,
        body: Type.Object({ roles: Roles }, { additionalProperties: false }),
        response: { 200: User },
      },
    },
    async (request) =>
      toJson(await users.setRoles(actorOf(request), request.params.id, request.body.roles)),
  );

  app.delete(
    '/users/:id',
    {
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Remove the user from this tenant; erased when they belong to none',
        params: IdParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await users.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
