import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Deprovisioning } from './deprovisioning.ts';

/**
 * `POST /api/v1/sso/deprovisioning/run`: the caller's tenant's deprovisioning now,
 * rather than at the next scheduled pass (after lowering `sso_deprovision_days`, say).
 */
export const deprovisioningRoutes: FastifyPluginAsyncTypebox<{
  deprovisioning: Deprovisioning;
}> = async (app, { deprovisioning }) => {
  app.post(
    '/sso/deprovisioning/run',
    {
      // It deactivates members, as POST /users/{id}/deactivate does: a sensitive change.
      config: { access: 'users:manage', stepUp: true },
      schema: {
        tags: ['sso'],
        summary:
          'Deactivate, now, the members who have not signed in through SSO for the tenant’s sso_deprovision_days',
        response: { 200: Type.Object({ deactivated: Type.Array(Type.String()) }) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const done = await deprovisioning.run({
        tenantId: actor.principal.tenantId,
        context: actor.audit,
      });
      return { deactivated: done.map((entry) => entry.user_id) };
    },
  );
};
