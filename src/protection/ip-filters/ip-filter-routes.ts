import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import { IdPageQuery, nextCursor } from '../../http/pagination.ts';
import { TesseraError } from '../../platform/errors.ts';
import { toIpFilter } from './ip-filter-json.ts';
import type { IpFilterScope, IpFilterService } from './ip-filter-service.ts';

const Action = Type.Union([Type.Literal('allow'), Type.Literal('block')]);
const Scope = Type.Union([Type.Literal('tenant'), Type.Literal('global')], {
  description:
    '`tenant` (default): the caller’s tenant. `global`: every request (platform administrators).',
});

const IpFilter = Type.Object({
  id: Type.String(),
  scope: Type.Union([Type.Literal('tenant'), Type.Literal('global')]),
  tenant_id: Type.Union([Type.String(), Type.Null()], { description: 'Null for a global entry.' }),
  cidr: Type.String({ description: 'The range in canonical form, always with a prefix length.' }),
  action: Action,
  reason: Type.String(),
  created_by: Type.Union([Type.String(), Type.Null()], {
    description: 'The user id, API key id or `cli` that added it.',
  }),
  created_by_type: Type.String({ description: '`user`, `api_key` or `cli`.' }),
  created_at: Type.String({ format: 'date-time' }),
});

const PLATFORM_NETWORK = 'platform:network';

/** The global list is the platform administrators' (`platform:network`). */
function scopeFor(request: FastifyRequest, scope: 'tenant' | 'global' | undefined): IpFilterScope {
  if (scope !== 'global') return request.tenantId;
  if (!request.principal?.permissions.has(PLATFORM_NETWORK)) {
    throw new TesseraError(
      AccessErrors.permission_denied,
      `The global list needs the ${PLATFORM_NETWORK} permission, which your roles do not grant.`,
      { extensions: { permission: PLATFORM_NETWORK } },
    );
  }
  return null;
}

/** `/api/v1/ip-filters`: the caller's tenant's allow and block lists, and the global ones. */
export const ipFilterRoutes: FastifyPluginAsyncTypebox<{ ipFilters: IpFilterService }> = async (
  app,
  { ipFilters },
) => {
  const tags = ['protection'];

  app.post(
    '/ip-filters',
    {
      config: { access: 'network:manage', stepUp: true },
      schema: {
        tags,
        summary: 'Add an allow or block entry for an address or CIDR range',
        description:
          'Refused with 409 `ip_filter_self_lockout` when the list would then refuse the caller’s own address.',
        body: Type.Object(
          {
            cidr: Type.String({
              minLength: 1,
              maxLength: 100,
              description: 'An IPv4 or IPv6 address or CIDR range; a bare address is /32 or /128.',
            }),
            action: Action,
            reason: Type.String({ minLength: 1, maxLength: 500 }),
            scope: Type.Optional(Scope),
          },
          { additionalProperties: false },
        ),
        response: { 201: IpFilter },
      },
    },
    async (request, reply) => {
      const { cidr, action, reason, scope } = request.body;
      const actor = actorOf(request);
      const record = await ipFilters.add(actor.audit, {
        cidr,
        action,
        reason,
        scope: scopeFor(request, scope),
      });
      return reply.code(201).send(toIpFilter(record));
    },
  );

  app.get(
    '/ip-filters',
    {
      config: { access: 'network:manage' },
      schema: {
        tags,
        summary: 'List the tenant’s entries, or the global ones (`scope=global`)',
        querystring: Type.Object(
          { ...IdPageQuery, scope: Type.Optional(Scope) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ip_filters: Type.Array(IpFilter),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { after, limit, scope } = request.query;
      const entries = await ipFilters.list(scopeFor(request, scope), { after, limit });
      return {
        ip_filters: entries.map(toIpFilter),
        next_cursor: nextCursor(entries, limit, (entry) => entry.id),
      };
    },
  );

  app.delete(
    '/ip-filters/:id',
    {
      config: { access: 'network:manage', stepUp: true },
      schema: {
        tags,
        summary:
          'Remove an entry of the tenant’s list, or of the global list (platform administrators)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { principal, tenantId } = request;
      const platform = principal?.permissions.has(PLATFORM_NETWORK) === true;
      await ipFilters.remove(
        actorOf(request).audit,
        request.params.id,
        (scope) => scope === tenantId || (scope === null && platform),
      );
      return reply.code(204).send(null);
    },
  );
};
