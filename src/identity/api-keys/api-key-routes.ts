import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { RoleNameSchema } from '../../access/role-name-schema.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import type { ApiKeyRecord, ApiKeyService } from './api-key-service.ts';

const ApiKey = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  prefix: Type.String({
    description: 'The start of the key, to recognise it; not enough to use it.',
  }),
  created_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toApiKey = (record: ApiKeyRecord) => ({
  id: record.id,
  tenant_id: record.tenant_id,
  name: record.name,
  role: record.role,
  prefix: record.prefix,
  created_by: record.created_by,
  created_at: new Date(record.created_ms).toISOString(),
  expires_at: iso(record.expires_ms),
  last_used_at: iso(record.last_used_ms),
  revoked_at: iso(record.revoked_ms),
});

/** `/api/v1/auth/api-keys`: keys of the caller's tenant, for machines. */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService }> = async (
  app,
  { apiKeys },
) => {
  app.post(
    '/auth/api-keys',
    {
      config: { access: 'api_keys:manage', stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Create an API key in the caller’s tenant; the secret is shown once',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            role: RoleNameSchema,
            expires_at: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            ...ApiKey.properties,
            key: Type.String({ description: 'The secret: store it now, it is never shown again.' }),
          }),
        },
      },
    },
    async (request, reply) => {
      const { name, role, expires_at } = request.body;
      const { record, secret } = await apiKeys.create(actorOf(request), {
        name,
        role,
        expires_ms: expires_at === undefined ? null : Date.parse(expires_at),
      });
      return reply.code(201).send({ ...toApiKey(record), key: secret });
    },
  );

  app.get(
    '/auth/api-keys',
    {
      config: { access: 'api_keys:manage' },
      schema: {
        tags: ['auth'],
        summary: 'List the tenant’s API keys (never their secrets)',
        querystring: Type.Object(IdPageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            api_keys: Type.Array(ApiKey),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const keys = await apiKeys.list(request.tenantId, { after, limit });
      return {
        api_keys: keys.map(toApiKey),
        next_cursor: nextCursor(keys, limit, (k) => k.id),
      };
    },
  );

  app.delete(
    '/auth/api-keys/:id',
    {
      config: { access: 'api_keys:manage', stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API key of the tenant; it stops working at once',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await apiKeys.revoke(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
