import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { nextCursor } from '../../http/pagination.ts';
import { toTeamJson } from '../org-json.ts';
import type { TeamService } from './team-service.ts';

export interface TeamRoutesOptions {
  readonly teams: TeamService;
}

// No leading or trailing whitespace and no line breaks (`.` matches none), so two
// names that look the same are the same name.
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S(?:.*\\S)?$' });
const Description = Type.String({ maxLength: 1000 });
const TeamId = Type.String({ minLength: 1, maxLength: 64 });
const UserId = Type.String({ minLength: 1, maxLength: 64 });

const TeamFields = {
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
};
const TeamSchema = Type.Object(TeamFields);
const MemberSchema = Type.Object({
  user_id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
});
const Empty = Type.Null({ description: 'No content.' });
const IdParams = Type.Object({ id: TeamId });
const MemberParams = Type.Object({ id: TeamId, user_id: UserId });
const tags = ['teams'];
const manage = { access: 'teams:manage' } as const;
const read = { access: 'users:read' } as const;

/** `/api/v1/teams`: named groups of members, always in the caller's own tenant. */
export const teamRoutes: FastifyPluginAsyncTypebox<TeamRoutesOptions> = async (app, opts) => {
  const { teams } = opts;

  app.post(
    '/teams',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Create a team; its name is unique in the tenant, ignoring case',
        body: Type.Object(
          { name: Name, description: Type.Optional(Description) },
          { additionalProperties: false },
        ),
        response: { 201: TeamSchema },
      },
    },
    async (request, reply) => {
      const team = await teams.create(actorOf(request), request.tenantId, request.body);
      return reply.code(201).send(toTeamJson(team));
    },
  );

  app.get(
    '/teams',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the teams by name',
        querystring: Type.Object(
          {
            after: Type.Optional(
              Type.String({
                maxLength: 100,
                description: 'The `next_cursor` of the previous page.',
              }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            q: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 100,
                description: 'Name contains, ignoring case.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            teams: Type.Array(TeamSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const list = await teams.list(actorOf(request), request.tenantId, request.query);
      return {
        teams: list.map(toTeamJson),
        next_cursor: nextCursor(list, request.query.limit, (team) => team.name),
      };
    },
  );

  app.get(
    '/teams/:id',
    {
      config: read,
      schema: {
        tags,
        summary: 'A team with its members',
        params: IdParams,
        response: { 200: Type.Object({ ...TeamFields, members: Type.Array(MemberSchema) }) },
      },
    },
    async (request) => {
      const team = await teams.get(actorOf(request), request.tenantId, request.params.id);
      return { ...toTeamJson(team), members: team.members };
    },
  );

  app.patch(
    '/teams/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Rename a team or change its description (null clears it)',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            // Null first: with type coercion on, a null tried against the string
            // branch first would become "" instead of clearing the description.
            description: Type.Optional(Type.Union([Type.Null(), Description])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TeamSchema },
      },
    },
    async (request) => {
      const { tenantId, params, body } = request;
      return toTeamJson(await teams.update(actorOf(request), tenantId, params.id, body));
    },
  );

  app.delete(
    '/teams/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Delete a team and its memberships (the users stay in the tenant)',
        params: IdParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await teams.remove(actorOf(request), request.tenantId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/teams/:id/members/:user_id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Put a member of the tenant in the team: 201 when added, 200 when already in it',
        params: MemberParams,
        response: { 200: MemberSchema, 201: MemberSchema },
      },
    },
    async (request, reply) => {
      const { id, user_id } = request.params;
      const result = await teams.addMember(actorOf(request), request.tenantId, id, user_id);
      return reply.code(result.added ? 201 : 200).send(result.member);
    },
  );

  app.delete(
    '/teams/:id/members/:user_id',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Take a user out of the team',
        params: MemberParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      const { id, user_id } = request.params;
      await teams.removeMember(actorOf(request), request.tenantId, id, user_id);
      return reply.code(204).send(null);
    },
  );
};
