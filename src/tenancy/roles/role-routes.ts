import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import {
  PERMISSION_DESCRIPTIONS,
  PERMISSIONS,
  PLATFORM_PERMISSIONS,
} from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import { RoleNameSchema } from '../../access/role-name-schema.ts';
import { RoleSchema, TenantPermissionSchema, toRoleJson } from './role-json.ts';
import type { RoleService } from './role-service.ts';

export interface RoleRoutesOptions {
  readonly roles: RoleService;
}

const tags = ['roles'];
const Description = Type.String({ maxLength: 500 });
const Permissions = Type.Array(TenantPermissionSchema, {
  maxItems: 64,
  description: 'Tenant permissions (GET /api/v1/permissions); duplicates are dropped.',
});
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });

/** `/api/v1/roles` and `/api/v1/permissions`: what roles there are in the caller's tenant. */
export const roleRoutes: FastifyPluginAsyncTypebox<RoleRoutesOptions> = async (app, opts) => {
  const { roles } = opts;

  app.get(
    '/permissions',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'The permissions roles are made of, each with what it allows',
        response: {
          200: Type.Object({
            permissions: Type.Array(
              Type.Object({
                name: Type.String(),
                description: Type.String(),
                platform: Type.Boolean({
                  description: 'Held only by platform administrators; no custom role grants it.',
                }),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      permissions: PERMISSIONS.map((name) => ({
        name,
        description: PERMISSION_DESCRIPTIONS[name],
        platform: PLATFORM_PERMISSIONS.includes(name),
      })),
    }),
  );

  // Any caller may read the roles of their own tenant: role names and what they grant
  // are no secret among its members (GET /auth/me shows each their own), and whoever
  // assigns roles (members:manage, users:manage, api_keys:manage) needs the list.
  app.get(
    '/roles',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'The built-in roles, then the tenant’s custom roles by name',
        response: { 200: Type.Object({ roles: Type.Array(RoleSchema) }) },
      },
    },
    async (request) => ({
      roles: (await roles.list(request.principal as Principal)).map(toRoleJson),
    }),
  );

  app.post(
    '/roles',
    {
      config: { access: 'roles:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Create a custom role granting some of the permissions the caller holds',
        body: Type.Object(
          {
            name: RoleNameSchema,
            description: Type.Optional(Description),
            permissions: Permissions,
          },
          { additionalProperties: false },
        ),
        response: { 201: RoleSchema },
      },
    },
    async (request, reply) => {
      const created = await roles.create(actorOf(request), request.body);
      return reply.code(201).send(toRoleJson(created));
    },
  );

  app.patch(
    '/roles/:name',
    {
      config: { access: 'roles:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Change a custom role; its holders get the new permissions at once',
        params: NameParams,
        body: Type.Object(
          {
            // Null first: with the string first, ajv's type coercion would turn null into ''.
            description: Type.Optional(Type.Union([Type.Null(), Description])),
            permissions: Type.Optional(Permissions),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: RoleSchema },
      },
    },
    async (request) =>
      toRoleJson(await roles.update(actorOf(request), request.params.name, request.body)),
  );

  app.delete(
    '/roles/:name',
    {
      config: { access: 'roles:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Delete a custom role that no member or live API key holds',
        params: NameParams,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await roles.remove(actorOf(request), request.params.name);
      return reply.code(204).send(null);
    },
  );
};
