import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import { checkTenantAccess } from '../tenants/tenant-access.ts';
import { TenantIdSchema } from '../tenants/tenant-json.ts';
import type { MemberFactorStatsService } from './member-factor-stats.ts';
import type { QuotaService, QuotaUsageEntry } from './quota-service.ts';
import { PRESET_NAMES, QUOTA_NAMES, type TenantQuotas } from './quotas.ts';

const Limit = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: '0 means unlimited.',
});
const QuotasSchema = Type.Object(
  Object.fromEntries(QUOTA_NAMES.map((name) => [name, Limit])) as Record<
    (typeof QUOTA_NAMES)[number],
    typeof Limit
  >,
  { additionalProperties: false },
);
const PresetBody = Type.Object(
  { preset: Type.Union(PRESET_NAMES.map((name) => Type.Literal(name))) },
  { additionalProperties: false },
);

const TenantQuotasSchema = Type.Object({
  tenant_id: Type.String(),
  plan: Type.String(),
  source: Type.Union([Type.Literal('plan'), Type.Literal('explicit')], {
    description: '`plan`: the preset named like the plan (unlimited for other plans).',
  }),
  quotas: QuotasSchema,
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const UsageEntry = Type.Object({
  quota: Type.String(),
  used: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Null when not counted: queries while that quota is unlimited.',
  }),
  limit: Type.Integer({ description: '0 means unlimited.' }),
  reset_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the window ends and the count starts again; null: never by itself.',
  }),
});
const USAGE_NAMES = [
  'events_today',
  'storage_bytes',
  'queries_this_hour',
  'api_keys',
  'projections',
  'pipelines',
  'webhooks',
] as const;
const StatsSchema = Type.Object({
  ...TenantQuotasSchema.properties,
  usage: Type.Object(
    Object.fromEntries(USAGE_NAMES.map((name) => [name, UsageEntry])) as Record<
      (typeof USAGE_NAMES)[number],
      typeof UsageEntry
    >,
  ),
  mfa: Type.Object(
    {
      members_with_totp: Type.Integer({ minimum: 0 }),
      members_with_passkeys: Type.Integer({ minimum: 0 }),
      members_with_any_factor: Type.Integer({ minimum: 0 }),
      members_without_factor: Type.Integer({ minimum: 0 }),
    },
    { description: 'The tenant’s active members by second factor (a confirmed TOTP, passkeys).' },
  ),
});

/**
 * Fastify's validator coerces types, which would read `null` or `""` as 0: unlimited.
 * A limit must arrive as a JSON number, so anything else is refused before coercion.
 */
async function refuseNonNumbers(request: { body: unknown }): Promise<void> {
  const body = request.body;
  if (typeof body !== 'object' || body === null) return;
  const wrong = QUOTA_NAMES.filter(
    (name) => name in body && typeof (body as Record<string, unknown>)[name] !== 'number',
  );
  if (wrong.length > 0) {
    throw validationFailed(
      wrong.map((name) => ({ path: `/${name}`, message: 'must be an integer' })),
    );
  }
}

const IdParams = Type.Object({ id: TenantIdSchema });
const tags = ['tenants'];
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const toQuotasJson = (tenant: TenantQuotas) => ({
  tenant_id: tenant.tenant_id,
  plan: tenant.plan,
  source: tenant.source,
  quotas: tenant.quotas,
  updated_at: iso(tenant.updated_ms),
});
const toUsageJson = (entry: QuotaUsageEntry) => ({
  quota: entry.quota,
  used: entry.used,
  limit: entry.limit,
  reset_at: iso(entry.reset_at_ms),
});

/** `/api/v1/tenants/{id}/quotas` and `/stats`: limits set by platform administrators. */
export const quotaRoutes: FastifyPluginAsyncTypebox<{
  quotas: QuotaService;
  memberFactors: MemberFactorStatsService;
}> = async (app, { quotas, memberFactors }) => {
  app.put(
    '/tenants/:id/quotas',
    {
      config: { access: 'platform:tenants' },
      preValidation: refuseNonNumbers,
      schema: {
        tags,
        summary: 'Set a tenant’s quotas: all seven, or a preset’s numbers',
        params: IdParams,
        body: Type.Union([QuotasSchema, PresetBody]),
        response: { 200: TenantQuotasSchema },
      },
    },
    async (request) =>
      toQuotasJson(await quotas.set(actorOf(request).audit, request.params.id, request.body)),
  );

  app.delete(
    '/tenants/:id/quotas',
    {
      config: { access: 'platform:tenants' },
      schema: {
        tags,
        summary: 'Drop a tenant’s own quotas: its plan’s preset applies again',
        params: IdParams,
        response: { 200: TenantQuotasSchema },
      },
    },
    async (request) =>
      toQuotasJson(await quotas.followPlan(actorOf(request).audit, request.params.id)),
  );

  app.get(
    '/tenants/:id/quotas',
    {
      // Platform administrators, or `tenant:read` in the tenant itself (checked below).
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'A tenant’s quotas and where they come from',
        params: IdParams,
        response: { 200: TenantQuotasSchema },
      },
    },
    async (request) => {
      checkTenantAccess(request.principal as Principal, request.params.id, 'tenant:read');
      return toQuotasJson(await quotas.get(request.params.id));
    },
  );

  app.get(
    '/tenants/:id/stats',
    {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'A tenant’s usage against each quota, with limits and reset times, and MFA counts',
        params: IdParams,
        response: { 200: StatsSchema },
      },
    },
    async (request) => {
      checkTenantAccess(request.principal as Principal, request.params.id, 'tenant:read');
      const { tenant, usage } = await quotas.stats(request.params.id);
      return {
        ...toQuotasJson(tenant),
        usage: {
          events_today: toUsageJson(usage.events_today),
          storage_bytes: toUsageJson(usage.storage_bytes),
          queries_this_hour: toUsageJson(usage.queries_this_hour),
          api_keys: toUsageJson(usage.api_keys),
          projections: toUsageJson(usage.projections),
          pipelines: toUsageJson(usage.pipelines),
          webhooks: toUsageJson(usage.webhooks),
        },
        mfa: await memberFactors.of(request.params.id),
      };
    },
  );
};
