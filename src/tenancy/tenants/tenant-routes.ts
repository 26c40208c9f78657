import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import { nextCursor } from '../../http/pagination.ts';
import { tenantInvitationRoutes } from '../invitations/tenant-invitation-routes.ts';
import type { TenantInvitationService } from '../invitations/tenant-invitation-service.ts';
import { memberRoutes } from '../memberships/member-routes.ts';
import type { MembershipService } from '../memberships/membership-service.ts';
import { checkTenantAccess } from './tenant-access.ts';
import { TenantIdSchema, TenantSchema, toTenantJson } from './tenant-json.ts';
import type { TenantService } from './tenant-service.ts';

export interface TenantRoutesOptions {
  readonly tenants: TenantService;
  /** Memberships and invitations of a tenant, under /tenants/{id}. */
  readonly memberships: MembershipService;
  readonly invitations: TenantInvitationService;
}

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Plan = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });
const IdParams = Type.Object({ id: TenantIdSchema });
const Empty = Type.Null({ description: 'No content.' });
const tags = ['tenants'];

/** `/api/v1/tenants`: tenant administration by platform administrators, and members. */
export const tenantRoutes: FastifyPluginAsyncTypebox<TenantRoutesOptions> = async (app, opts) => {
  const { tenants: service } = opts;

  app.post(
    '/tenants',
    {
      config: { access: 'platform:tenants', stepUp: true },
      schema: {
        tags,
        summary: 'Create a tenant, optionally with its first admin',
        body: Type.Object(
          {
            id: TenantIdSchema,
            name: Name,
            plan: Plan,
            admin: Type.Optional(
              Type.Object(
                {
                  email: Type.String({ minLength: 3, maxLength: 254 }),
                  password: Type.Optional(
                    Type.String({
                      maxLength: 1024,
                      description:
                        'Required when no user has the email; an existing user keeps their password.',
                    }),
                  ),
                },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: TenantSchema },
      },
    },
    async (request, reply) => {
      const { admin, ...tenant } = request.body;
      return reply
        .code(201)
        .send(toTenantJson(await service.create(auditContextOf(request), tenant, admin)));
    },
  );

  app.get(
    '/tenants',
    {
      config: { access: 'platform:tenants' },
      schema: {
        tags,
        summary: 'List tenants by id',
        querystring: Type.Object(
          {
            after: Type.Optional(Type.String({ maxLength: 63 })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            include_deleted: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            tenants: Type.Array(TenantSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { limit } = request.query;
      const tenants = await service.list(request.query);
      return {
        tenants: tenants.map(toTenantJson),
        next_cursor: nextCursor(tenants, limit, (t) => t.id),
      };
    },
  );

  app.get(
    '/tenants/:id',
    {
      // Platform administrators, or `tenant:read` in the tenant itself (checked below).
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'A tenant: any for platform administrators, else the caller’s own',
        params: IdParams,
        response: { 200: TenantSchema },
      },
    },
    async (request) => {
      checkTenantAccess(request.principal as Principal, request.params.id, 'tenant:read');
      return toTenantJson(await service.get(request.params.id));
    },
  );

  app.patch(
    '/tenants/:id',
    {
      config: { access: 'platform:tenants' },
      schema: {
        tags,
        summary: 'Rename a tenant or change its plan',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(Name), plan: Type.Optional(Plan) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TenantSchema },
      },
    },
    async (request) => {
      return toTenantJson(
        await service.update(auditContextOf(request), request.params.id, request.body),
      );
    },
  );

  app.delete(
    '/tenants/:id',
    {
      config: { access: 'platform:tenants', stepUp: true },
      schema: {
        tags,
        summary: 'Delete a tenant (soft: its id is never reused); its keys and tokens stop working',
        params: IdParams,
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await service.remove(auditContextOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  for (const [action, status] of [
    ['activate', 'active'],
    ['deactivate', 'suspended'],
  ] as const) {
    app.post(
      `/tenants/:id/${action}`,
      {
        // Suspending shuts every member out; reactivating lets them back in.
        config: { access: 'platform:tenants', stepUp: true },
        schema: {
          tags,
          summary:
            status === 'active'
              ? 'Reactivate a suspended tenant'
              : 'Suspend a tenant: its tokens and API keys get 403 tenant_suspended',
          params: IdParams,
          response: { 200: TenantSchema },
        },
      },
      async (request) =>
        toTenantJson(await service.setStatus(auditContextOf(request), request.params.id, status)),
    );
  }

  await app.register(memberRoutes, { memberships: opts.memberships });
  await app.register(tenantInvitationRoutes, { invitations: opts.invitations });
};
