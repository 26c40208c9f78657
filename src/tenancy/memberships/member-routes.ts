import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { RoleNameSchema } from '../../access/role-name-schema.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import { Invited, invitedJson } from '../invitations/invitation-json.ts';
import { TenantIdSchema } from '../tenants/tenant-json.ts';
import type { MembershipService } from './membership-service.ts';

const MemberFields = {
  user_id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
};
const Empty = Type.Null({ description: 'No content.' });
const tags = ['tenants'];
// Platform administrators, or `members:manage` in that tenant: decided by the service.
const config = { access: 'authenticated' } as const;

/** `/api/v1/tenants/{id}/members`: who belongs to a tenant, with which roles. */
export const memberRoutes: FastifyPluginAsyncTypebox<{ memberships: MembershipService }> = async (
  app,
  { memberships },
) => {
  const principalOf = (request: { principal: Principal | null }) => request.principal as Principal;

  app.get(
    '/tenants/:id/members',
    {
      config,
      schema: {
        tags,
        summary: 'List the members of a tenant by user id',
        params: Type.Object({ id: TenantIdSchema }),
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            members: Type.Array(
              Type.Object({ ...MemberFields, created_at: Type.String({ format: 'date-time' }) }),
            ),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { limit } = request.query;
      const members = await memberships.list(
        principalOf(request),
        request.params.id,
        request.query,
      );
      return {
        members: members.map(({ created_ms, ...member }) => ({
          ...member,
          created_at: new Date(created_ms).toISOString(),
        })),
        next_cursor: nextCursor(members, limit, (m) => m.user_id),
      };
    },
  );

  app.put(
    '/tenants/:id/members',
    {
      config: { ...config, stepUp: true },
      schema: {
        tags,
        summary: 'Give a member exactly these roles; invite someone not yet a member',
        description:
          'A member gets exactly these roles (200). Anyone else is invited (202 `invited`, the same whether or not the email belonged to an identity) unless the caller is a platform administrator, who adds them at once (200; 404 `user_not_found` for an unknown email).',
        params: Type.Object({ id: TenantIdSchema }),
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            // Built-in or the tenant's custom roles: unknown ones are 400 `invalid_roles`.
            roles: Type.Array(RoleNameSchema, { minItems: 1, maxItems: 32 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object(MemberFields), 202: Invited },
      },
    },
    async (request, reply) => {
      const { email, roles } = request.body;
      const granted = await memberships.put(actorOf(request), request.params.id, email, roles);
      if (granted.kind === 'invited') return reply.code(202).send(invitedJson(granted.answer));
      const { id, email: normalized, name } = granted.user;
      return reply.code(200).send({ user_id: id, email: normalized, name, roles: granted.roles });
    },
  );

  app.delete(
    '/tenants/:id/members/:user_id',
    {
      config: { ...config, stepUp: true },
      schema: {
        tags,
        summary: 'Remove a user from the tenant; their sessions there lose every role at once',
        params: Type.Object({ id: TenantIdSchema, user_id: Type.String({ maxLength: 64 }) }),
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      const { id, user_id } = request.params;
      await memberships.remove(actorOf(request), id, user_id);
      return reply.code(204).send(null);
    },
  );
};
